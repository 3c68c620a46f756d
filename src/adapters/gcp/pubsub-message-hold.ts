import type { PubSub } from '@google-cloud/pubsub';
import type { HeldMessage, MessageHold } from '../../ports/message-hold';

// Messages one `himas deadletter` pulls at most: a hold past this is an outage to handle in
// batches (replay acknowledges what it pulled, so the next call gets the rest).
const MAX_PULLED = 10_000;
const BATCH = 500;

/**
 * A pull subscription read with synchronous pull (`projects.subscriptions.pull`): the dead-letter
 * holds Terraform creates (`<topic>-dead-letter-hold`) and the emulator stack mirrors. Pulled
 * messages stay leased for the subscription's ack deadline (60 s) unless acknowledged or released.
 */
export class PubSubMessageHold implements MessageHold {
  constructor(private readonly pubsub: PubSub) {}

  async pull(subscription: string): Promise<HeldMessage[]> {
    const client = await this.client();
    const name = this.pubsub.subscription(subscription).name;
    const held: HeldMessage[] = [];
    // An empty answer can come while messages remain (pull answers from one server's share); two
    // in a row end the listing.
    for (let empty = 0; empty < 2 && held.length < MAX_PULLED;) {
      const [response] = await client.pull({
        subscription: name,
        maxMessages: BATCH,
        returnImmediately: true,
      });
      const received = response.receivedMessages ?? [];
      empty = received.length === 0 ? empty + 1 : 0;
      for (const { ackId, message } of received) {
        if (!ackId || !message) continue;
        held.push({
          ackId,
          messageId: message.messageId ?? '',
          data: Buffer.from(message.data ?? '').toString('utf8'),
          attributes: withSource({ ...(message.attributes ?? {}) }),
          publishTime: timestampText(message.publishTime),
        });
      }
    }
    return held.sort((a, b) => a.publishTime.localeCompare(b.publishTime));
  }

  async acknowledge(subscription: string, ackIds: string[]): Promise<void> {
    if (ackIds.length === 0) return;
    const client = await this.client();
    const name = this.pubsub.subscription(subscription).name;
    for (let i = 0; i < ackIds.length; i += BATCH)
      await client.acknowledge({ subscription: name, ackIds: ackIds.slice(i, i + BATCH) });
  }

  async release(subscription: string, ackIds: string[]): Promise<void> {
    if (ackIds.length === 0) return;
    const client = await this.client();
    const name = this.pubsub.subscription(subscription).name;
    for (let i = 0; i < ackIds.length; i += BATCH)
      await client.modifyAckDeadline({
        subscription: name,
        ackIds: ackIds.slice(i, i + BATCH),
        ackDeadlineSeconds: 0,
      });
  }

  private async client() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { v1 } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
    // The PubSub client's own settings (the emulator's endpoint and plain credentials included).
    const config = await this.pubsub.getClientConfig();
    this.subscriber ??= new v1.SubscriberClient({
      ...config,
      port: config.port === undefined ? undefined : Number(config.port),
    });
    return this.subscriber;
  }

  private subscriber: InstanceType<typeof import('@google-cloud/pubsub').v1.SubscriberClient> | undefined;

  async close(): Promise<void> {
    await this.subscriber?.close();
    this.subscriber = undefined;
  }
}

/** Pub/Sub names the subscription a message was dead-lettered from; HIMAS calls it deadLetterSource. */
function withSource(attributes: Record<string, string>): Record<string, string> {
  const source = attributes.CloudPubSubDeadLetterSourceSubscription;
  if (source !== undefined && attributes.deadLetterSource === undefined)
    attributes.deadLetterSource = source.split('/').pop()!;
  return attributes;
}

function timestampText(time: { seconds?: unknown; nanos?: number | null } | null | undefined): string {
  if (!time) return new Date(0).toISOString();
  const ms = Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
  return new Date(ms).toISOString();
}
