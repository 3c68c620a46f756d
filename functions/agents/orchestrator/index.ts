import * as functions from '@google-cloud/functions-framework';
import { orchestratorFromStack } from '../../../src/runtime/stack-services';
import type { OrchestratorAgent } from '../../../src/services/orchestrator-agent';
import {
  deliveryFromMessagePublished,
  type MessagePublishedData,
} from '../../../src/services/pubsub-message';

/**
 * The orchestrator Cloud Function (Pub/Sub trigger on himas-models). Thin by design (STYLE.md
 * habit 1): decode the message, skip what is not `model.published`, hand it to the agent in
 * src/services. A returned promise acks; a thrown error nacks and Pub/Sub redelivers.
 */
export function orchestratorHandler(getAgent: () => Promise<OrchestratorAgent>) {
  return async (event: { data?: MessagePublishedData }): Promise<void> => {
    const delivery = deliveryFromMessagePublished(event.data);
    // The `type` attribute lets other events pass without a read; the agent checks the body too.
    if (delivery.attributes.type !== undefined && delivery.attributes.type !== 'model.published') return;
    const agent = await getAgent();
    await agent.handle(delivery);
  };
}

/** Deployed: the agent over Firestore, Pub/Sub and the BigQuery warehouse (src/runtime/stack-services.ts). */
let cloudAgent: Promise<OrchestratorAgent> | undefined;
functions.cloudEvent<MessagePublishedData>(
  'orchestrator',
  orchestratorHandler(() => {
    cloudAgent ??= orchestratorFromStack(process.env);
    return cloudAgent;
  }),
);
