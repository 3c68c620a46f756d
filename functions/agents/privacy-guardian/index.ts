import * as functions from '@google-cloud/functions-framework';
import { privacyGuardianFromStack } from '../../../src/runtime/stack-services';
import {
  deliveryFromMessagePublished,
  type MessagePublishedData,
} from '../../../src/services/pubsub-message';
import type { PrivacyGuardianAgent } from '../../../src/services/privacy-guardian-agent';

/**
 * The privacy guardian Cloud Function (Pub/Sub trigger on himas-models). Thin by design (STYLE.md
 * habit 1): decode the message, skip what is not `model.published`, hand it to the agent in
 * src/services. A returned promise acks; a thrown error nacks and Pub/Sub redelivers.
 */
export function privacyGuardianHandler(getAgent: () => Promise<PrivacyGuardianAgent>) {
  return async (event: { data?: MessagePublishedData }): Promise<void> => {
    const delivery = deliveryFromMessagePublished(event.data);
    // The `type` attribute lets other events pass without a read; the agent checks the body too.
    if (delivery.attributes.type !== undefined && delivery.attributes.type !== 'model.published') return;
    const agent = await getAgent();
    await agent.handle(delivery);
  };
}

/** Deployed: the agent over Firestore, Pub/Sub and the BigQuery warehouse (src/runtime/stack-services.ts). */
let cloudAgent: Promise<PrivacyGuardianAgent> | undefined;
functions.cloudEvent<MessagePublishedData>(
  'privacyGuardian',
  privacyGuardianHandler(() => {
    cloudAgent ??= privacyGuardianFromStack(process.env);
    return cloudAgent;
  }),
);
