import * as functions from '@google-cloud/functions-framework';
import { aggregatorFromStack } from '../../src/runtime/stack-services';
import type { Aggregator } from '../../src/services/aggregator';
import { deliveryFromMessagePublished, type MessagePublishedData } from '../../src/services/pubsub-message';

/**
 * The aggregation Cloud Function (Pub/Sub trigger on himas-updates and himas-rounds). Thin by design
 * (STYLE.md habit 1): decode the message, hand it to the Aggregator in src/services. A returned
 * promise acks; a thrown error nacks and Pub/Sub redelivers (bad input is acked by the Aggregator).
 */
export function aggregateHandler(getAggregator: () => Promise<Aggregator>) {
  return async (event: { data?: MessagePublishedData }): Promise<void> => {
    const aggregator = await getAggregator();
    await aggregator.handle(deliveryFromMessagePublished(event.data));
  };
}

/** Deployed: the aggregator over the stack named by the environment (built once per instance). */
let cloudAggregator: Promise<Aggregator> | undefined;
functions.cloudEvent<MessagePublishedData>(
  'aggregate',
  aggregateHandler(() => {
    cloudAggregator ??= aggregatorFromStack(process.env);
    return cloudAggregator;
  }),
);
