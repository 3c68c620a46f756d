import * as functions from '@google-cloud/functions-framework';
import { treatmentFromStack } from '../../../src/runtime/stack-services';
import {
  deliveryFromMessagePublished,
  type MessagePublishedData,
} from '../../../src/services/pubsub-message';
import type { TreatmentAgent } from '../../../src/services/treatment-agent';

/**
 * The treatment-optimization Cloud Function (Pub/Sub trigger on himas-updates). Thin by design
 * (STYLE.md habit 1): decode the message, skip what is not `treatment.reported`, hand it to the
 * agent in src/services. A returned promise acks; a thrown error nacks and Pub/Sub redelivers.
 */
export function treatmentOptimizationHandler(getAgent: () => Promise<TreatmentAgent>) {
  return async (event: { data?: MessagePublishedData }): Promise<void> => {
    const delivery = deliveryFromMessagePublished(event.data);
    // The `type` attribute lets other events pass without a read; the agent checks the body too.
    if (delivery.attributes.type !== undefined && delivery.attributes.type !== 'treatment.reported') return;
    const agent = await getAgent();
    await agent.handle(delivery);
  };
}

/** Deployed: the agent over Firestore, Pub/Sub and the BigQuery warehouse (src/runtime/stack-services.ts). */
let cloudAgent: Promise<TreatmentAgent> | undefined;
functions.cloudEvent<MessagePublishedData>(
  'treatmentOptimization',
  treatmentOptimizationHandler(() => {
    cloudAgent ??= treatmentFromStack(process.env);
    return cloudAgent;
  }),
);
