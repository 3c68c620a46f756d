import * as functions from '@google-cloud/functions-framework';
import { surveillanceFromStack } from '../../../src/runtime/stack-services';
import {
  deliveryFromMessagePublished,
  type MessagePublishedData,
} from '../../../src/services/pubsub-message';
import type { SurveillanceAgent } from '../../../src/services/surveillance-agent';

/**
 * The disease-surveillance Cloud Function (Pub/Sub trigger on himas-updates). Thin by design
 * (STYLE.md habit 1): decode the message, skip what is not `surveillance.reported`, hand it to the
 * agent in src/services. A returned promise acks; a thrown error nacks and Pub/Sub redelivers.
 */
export function diseaseSurveillanceHandler(getAgent: () => Promise<SurveillanceAgent>) {
  return async (event: { data?: MessagePublishedData }): Promise<void> => {
    const delivery = deliveryFromMessagePublished(event.data);
    // The `type` attribute lets other events pass without a read; the agent checks the body too.
    if (delivery.attributes.type !== undefined && delivery.attributes.type !== 'surveillance.reported')
      return;
    const agent = await getAgent();
    await agent.handle(delivery);
  };
}

/** Deployed: the agent over Firestore, Pub/Sub and the BigQuery warehouse (src/runtime/stack-services.ts). */
let cloudAgent: Promise<SurveillanceAgent> | undefined;
functions.cloudEvent<MessagePublishedData>(
  'diseaseSurveillance',
  diseaseSurveillanceHandler(() => {
    cloudAgent ??= surveillanceFromStack(process.env);
    return cloudAgent;
  }),
);
