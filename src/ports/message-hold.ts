/**
 * Pull access to a subscription no function handles: a dead-letter topic's hold subscription,
 * where dead letters wait for an operator (`himas deadletter`). Adapters: the embedded bus (its
 * pending deliveries of that subscription) and Pub/Sub (synchronous pull).
 */
export interface HeldMessage {
  /** What acknowledges it: the embedded delivery's sequence, or Pub/Sub's ack id of this pull. */
  ackId: string;
  messageId: string;
  data: string;
  attributes: Record<string, string>;
  /** When it reached the hold (its publish time on the dead-letter topic). */
  publishTime: string;
}

export interface MessageHold {
  /** Every message waiting on the subscription, oldest first; each stays until acknowledged. */
  pull(subscription: string): Promise<HeldMessage[]>;
  /** Removes pulled messages from the subscription (they were replayed). */
  acknowledge(subscription: string, ackIds: string[]): Promise<void>;
  /** Gives pulled messages back at once (a listing must not hide them for an ack deadline). */
  release(subscription: string, ackIds: string[]): Promise<void>;
}
