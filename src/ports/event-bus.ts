/**
 * Publish/subscribe with Pub/Sub semantics: at-least-once delivery, so every consumer must be
 * idempotent; a handler that throws nacks the message, which is redelivered with backoff until
 * `maxDeliveryAttempts`, then moved to the dead-letter topic. Adapters: embedded (in-process,
 * persisted in the embedded database so nothing is lost on a crash) and Pub/Sub.
 */
export interface OutgoingMessage {
  /** The message body: for HIMAS events, the JSON text of the event envelope. */
  data: string;
  /** Pub/Sub attributes; HIMAS sets `type` and `runId` for filtering. */
  attributes: Record<string, string>;
  /** Messages with the same key are delivered in publish order (Pub/Sub ordering keys). */
  orderingKey?: string;
}

export interface Delivery {
  messageId: string;
  topic: string;
  data: string;
  attributes: Record<string, string>;
  /** 1 on the first delivery, then 2, 3, ... */
  deliveryAttempt: number;
  publishTime: string;
}

export interface SubscriptionSpec {
  /** Subscription name, for example `himas-aggregate`. */
  name: string;
  topic: string;
  /** After this many failed deliveries the message goes to `deadLetterTopic` (default 5). */
  maxDeliveryAttempts?: number;
  deadLetterTopic?: string;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface EventBus {
  publish(topic: string, message: OutgoingMessage): Promise<string>;
  /** Starts delivering messages of the topic (including ones published before and never acked). */
  subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<void>;
  /** Resolves when no delivery is in flight or waiting (embedded); for tests and local drivers. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
