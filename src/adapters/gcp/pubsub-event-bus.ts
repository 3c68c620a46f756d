import type { Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import type {
  Delivery,
  DeliveryHandler,
  EventBus,
  OutgoingMessage,
  SubscriptionSpec,
} from '../../ports/event-bus';
import { GrpcStatus, grpcCodeOf } from './grpc-status';
import { OrderingKeySequencer, type AttemptOutcome } from './ordering-key-sequencer';

export interface PubSubEventBusOptions {
  /**
   * Create missing topics and subscriptions (default true: emulators and dev projects). In the
   * cloud Terraform owns them and the runtime service account has no right to create any.
   */
  createResources?: boolean;
  /**
   * Talking to the Pub/Sub emulator. Its streaming pull breaks (the stream ends with UNKNOWN and
   * nothing is dead-lettered) when a subscription has both message ordering and a dead-letter
   * policy, so on the emulator a subscription with a dead-letter topic is created unordered.
   */
  emulator?: boolean;
  /** Ack deadline of created subscriptions; the client extends leases while a handler runs. */
  ackDeadlineSeconds?: number;
  /** Messages held by one subscription at once (running, or waiting behind their ordering key). */
  maxOutstandingMessages?: number;
  /** Redelivery backoff of created subscriptions; without it Pub/Sub redelivers a nack at once. */
  retryPolicy?: { minimumBackoffSeconds: number; maximumBackoffSeconds: number };
  /** Close the PubSub client with the bus (when the bus owns it). */
  closeClient?: boolean;
  /** Where errors of the bus itself (not of handlers) go; default console.error. */
  onError?: (error: unknown) => void;
}

const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;
// Pub/Sub's bounds for a dead-letter policy's max_delivery_attempts.
const DEAD_LETTER_ATTEMPTS = { min: 5, max: 100 };
// Message ids this process finished per subscription, to ack duplicates without a second run.
const FINISHED_MEMORY = 10_000;

interface Worker {
  name: string;
  topic: string;
  handler: DeliveryHandler;
  subscription: Subscription;
  /** Attempts before giving up: the server's dead-letter policy when it has one. */
  maxDeliveryAttempts: number;
  /** The subscription has a dead-letter policy, so the server moves exhausted messages itself. */
  serverDeadLetters: boolean;
  deadLetterTopic: string | null;
  ordered: boolean;
  sequencer: OrderingKeySequencer<Message>;
  /** Published here (and so expected) or received, and not yet acked or given up. */
  pending: Set<string>;
  finished: Map<string, true>;
  /** Attempts counted here when the server sends none (a subscription without dead-lettering). */
  attempts: Map<string, number>;
  running: number;
}

/**
 * EventBus on Cloud Pub/Sub (or its emulator) with streaming pull: a handler that resolves acks the
 * message, one that throws nacks it, so Pub/Sub redelivers it until `maxDeliveryAttempts`, then
 * moves it to the dead-letter topic. Messages with an ordering key run one at a time per key in
 * publish order (see ordering-key-sequencer.ts). A dead-lettered message is delivered with its
 * original attributes plus `deadLetterSource` (the source subscription), as on the embedded bus.
 */
export class PubSubEventBus implements EventBus {
  private readonly workers = new Map<string, Worker>();
  private readonly publishers = new Map<string, Topic>();
  private readonly topicsEnsured = new Map<string, Promise<void>>();
  private progressWaiters: Array<() => void> = [];
  private closed = false;
  private readonly createResources: boolean;
  private readonly onError: (error: unknown) => void;

  constructor(
    readonly pubsub: PubSub,
    private readonly options: PubSubEventBusOptions = {},
  ) {
    this.createResources = options.createResources ?? true;
    this.onError = options.onError ?? ((error) => console.error('pubsub event bus:', error));
  }

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    this.assertOpen();
    validateMessage(topic, message);
    const publisher = this.publisherFor(topic);
    const request = {
      data: Buffer.from(message.data, 'utf8'),
      attributes: { ...message.attributes },
      ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
    };
    let id: string;
    try {
      id = await this.publishResuming(publisher, request);
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.NOT_FOUND || !this.createResources) throw error;
      await this.ensureTopic(topic);
      id = await this.publishResuming(publisher, request);
    }
    for (const worker of this.workers.values()) {
      if (worker.topic === topic && !worker.finished.has(id)) worker.pending.add(id);
    }
    return id;
  }

  async subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<void> {
    this.assertOpen();
    requireName('subscription', spec.name);
    requireName('topic', spec.topic);
    if (spec.deadLetterTopic !== undefined) requireName('dead-letter topic', spec.deadLetterTopic);
    if (this.workers.has(spec.name)) throw new Error(`subscription ${spec.name} already has a handler`);
    const maxDeliveryAttempts = spec.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
    if (!Number.isInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 1) {
      throw new Error(`subscription ${spec.name}: maxDeliveryAttempts must be a positive integer`);
    }
    if (
      spec.deadLetterTopic !== undefined &&
      (maxDeliveryAttempts < DEAD_LETTER_ATTEMPTS.min || maxDeliveryAttempts > DEAD_LETTER_ATTEMPTS.max)
    ) {
      throw new Error(
        `subscription ${spec.name}: Pub/Sub dead-lettering needs maxDeliveryAttempts between ` +
          `${DEAD_LETTER_ATTEMPTS.min} and ${DEAD_LETTER_ATTEMPTS.max}, got ${maxDeliveryAttempts}`,
      );
    }
    const metadata = await this.ensureSubscription(spec, maxDeliveryAttempts);
    if (this.workers.has(spec.name)) throw new Error(`subscription ${spec.name} already has a handler`);
    const serverPolicy = metadata.deadLetterPolicy;
    const serverDeadLetters = !!serverPolicy?.deadLetterTopic;
    const subscription = this.pubsub.subscription(spec.name, {
      flowControl: { maxMessages: this.options.maxOutstandingMessages ?? 100, allowExcessMessages: false },
    });
    const worker: Worker = {
      name: spec.name,
      topic: spec.topic,
      handler,
      subscription,
      maxDeliveryAttempts: serverDeadLetters
        ? (serverPolicy?.maxDeliveryAttempts ?? maxDeliveryAttempts)
        : maxDeliveryAttempts,
      serverDeadLetters,
      deadLetterTopic: spec.deadLetterTopic ?? null,
      ordered: !!metadata.enableMessageOrdering,
      sequencer: new OrderingKeySequencer<Message>(
        (copies) => this.attempt(worker, copies),
        (copies) => copies.forEach((copy) => copy.ack()),
      ),
      pending: new Set(),
      finished: new Map(),
      attempts: new Map(),
      running: 0,
    };
    this.workers.set(spec.name, worker);
    subscription.on('message', (message: Message) => this.receive(worker, message));
    subscription.on('error', (error: unknown) => this.onError(error));
    // A stream that ended on a non-retryable status closes the subscriber; keep pulling.
    subscription.on('close', () => {
      if (!this.closed) setTimeout(() => !this.closed && !subscription.isOpen && subscription.open(), 1000);
    });
  }

  /**
   * Resolves when this process has nothing in flight: no handler running, no message held behind
   * its ordering key or waiting for a redelivery, and every message this bus published to a topic
   * with a subscription attached here handled by it. Messages published by other processes are
   * only seen once they arrive, so for those this is best effort (tests and local drivers).
   */
  async idle(): Promise<void> {
    while (!this.closed && this.busy()) {
      const progress = new Promise<void>((resolve) => this.progressWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([progress, new Promise<void>((resolve) => (timer = setTimeout(resolve, 100)))]);
      clearTimeout(timer);
    }
  }

  /**
   * Stops pulling and flushes publishes. Running handlers are not awaited; their messages are
   * never acked, so Pub/Sub redelivers them once the lease runs out.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifyProgress();
    await Promise.allSettled([...this.workers.values()].map((worker) => worker.subscription.close()));
    await Promise.allSettled([...this.publishers.values()].map((topic) => topic.flush()));
    if (this.options.closeClient) await this.pubsub.close();
  }

  private receive(worker: Worker, message: Message): void {
    if (this.closed) return; // not acked: redelivered to the next subscriber
    if (worker.finished.has(message.id)) {
      message.ack(); // a duplicate of a message this process already handled
      return;
    }
    worker.pending.add(message.id);
    if (worker.ordered && message.orderingKey) worker.sequencer.offer(message.orderingKey, message);
    else void this.attempt(worker, [message]);
  }

  /** Runs the handler on the newest copy; acks or nacks every copy. */
  private async attempt(worker: Worker, copies: Message[]): Promise<AttemptOutcome> {
    const message = copies[copies.length - 1];
    // Pub/Sub sets deliveryAttempt only on subscriptions with a dead-letter policy (0 otherwise).
    const attempt =
      message.deliveryAttempt > 0 ? message.deliveryAttempt : (worker.attempts.get(message.id) ?? 0) + 1;
    worker.attempts.set(message.id, attempt);
    const delivery: Delivery = {
      messageId: message.id,
      topic: worker.topic,
      data: message.data.toString('utf8'),
      attributes: attributesOf(message),
      deliveryAttempt: attempt,
      publishTime: message.publishTime.toISOString(),
    };
    worker.running += 1;
    try {
      try {
        await worker.handler(delivery);
      } catch (error) {
        if (this.closed) return 'retry';
        if (attempt < worker.maxDeliveryAttempts) {
          copies.forEach((copy) => copy.nack());
          return 'retry';
        }
        return await this.giveUp(worker, copies, delivery, error);
      }
      if (this.closed) return 'retry';
      copies.forEach((copy) => copy.ack());
      this.finish(worker, message.id);
      return 'done';
    } finally {
      worker.running -= 1;
      this.notifyProgress();
    }
  }

  /** The last attempt failed: dead-letter the message (or drop it when there is nowhere to go). */
  private async giveUp(
    worker: Worker,
    copies: Message[],
    delivery: Delivery,
    error: unknown,
  ): Promise<AttemptOutcome> {
    if (worker.serverDeadLetters) {
      copies.forEach((copy) => copy.nack()); // the server forwards it after this failed attempt
    } else if (worker.deadLetterTopic !== null) {
      // The subscription exists without a dead-letter policy (created elsewhere): forward it here.
      try {
        await this.publish(worker.deadLetterTopic, {
          data: delivery.data,
          attributes: { ...delivery.attributes, deadLetterSource: worker.name },
        });
      } catch (publishError) {
        this.onError(publishError);
        copies.forEach((copy) => copy.nack());
        return 'retry';
      }
      copies.forEach((copy) => copy.ack());
    } else {
      // Pub/Sub would redeliver forever; the port (and the embedded bus) stop a poison message.
      copies.forEach((copy) => copy.ack());
      this.onError(
        new Error(
          `subscription ${worker.name}: dropped message ${delivery.messageId} after ${delivery.deliveryAttempt} ` +
            `failed attempts and no dead-letter topic: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }
    this.finish(worker, delivery.messageId);
    return 'done';
  }

  private finish(worker: Worker, messageId: string): void {
    worker.pending.delete(messageId);
    worker.attempts.delete(messageId);
    worker.finished.set(messageId, true);
    if (worker.finished.size > FINISHED_MEMORY) {
      worker.finished.delete(worker.finished.keys().next().value as string);
    }
  }

  private async ensureSubscription(spec: SubscriptionSpec, maxDeliveryAttempts: number) {
    if (this.createResources) {
      await this.ensureTopic(spec.topic);
      if (spec.deadLetterTopic !== undefined) await this.ensureTopic(spec.deadLetterTopic);
    }
    const subscription = this.pubsub.subscription(spec.name);
    let metadata;
    try {
      [metadata] = await subscription.getMetadata();
    } catch (error) {
      if (grpcCodeOf(error) !== GrpcStatus.NOT_FOUND || !this.createResources) throw error;
      try {
        [, metadata] = await this.pubsub.topic(spec.topic).createSubscription(spec.name, {
          ackDeadlineSeconds: this.options.ackDeadlineSeconds ?? 60,
          enableMessageOrdering: !(this.options.emulator && spec.deadLetterTopic !== undefined),
          ...(spec.deadLetterTopic !== undefined
            ? {
                deadLetterPolicy: {
                  deadLetterTopic: this.pubsub.topic(spec.deadLetterTopic).name,
                  maxDeliveryAttempts,
                },
              }
            : {}),
          ...(this.options.retryPolicy
            ? {
                retryPolicy: {
                  minimumBackoff: { seconds: this.options.retryPolicy.minimumBackoffSeconds },
                  maximumBackoff: { seconds: this.options.retryPolicy.maximumBackoffSeconds },
                },
              }
            : {}),
        });
      } catch (createError) {
        if (grpcCodeOf(createError) !== GrpcStatus.ALREADY_EXISTS) throw createError;
        [metadata] = await subscription.getMetadata(); // a concurrent subscribe created it
      }
    }
    const topic = metadata.topic ?? '';
    if (!topic.endsWith(`/topics/${spec.topic}`)) {
      throw new Error(`subscription ${spec.name} already exists on topic ${topic}, not ${spec.topic}`);
    }
    return metadata;
  }

  private ensureTopic(name: string): Promise<void> {
    let ensured = this.topicsEnsured.get(name);
    if (ensured === undefined) {
      ensured = this.pubsub
        .createTopic(name)
        .then(
          () => undefined,
          (error: unknown) => {
            if (grpcCodeOf(error) !== GrpcStatus.ALREADY_EXISTS) throw error;
          },
        )
        .catch((error: unknown) => {
          this.topicsEnsured.delete(name); // let the next call try again
          throw error;
        });
      this.topicsEnsured.set(name, ensured);
    }
    return ensured;
  }

  private publisherFor(name: string): Topic {
    let topic = this.publishers.get(name);
    if (topic === undefined) {
      // Ordering must be enabled on the publisher to send ordering keys; a short batch window
      // keeps publish latency low (HIMAS publishes tens of events per round, not thousands).
      topic = this.pubsub.topic(name, { messageOrdering: true, batching: { maxMilliseconds: 5 } });
      this.publishers.set(name, topic);
    }
    return topic;
  }

  private async publishResuming(
    topic: Topic,
    request: { data: Buffer; attributes: Record<string, string>; orderingKey?: string },
  ): Promise<string> {
    try {
      return await topic.publishMessage(request);
    } catch (error) {
      // A failed publish pauses its ordering key until resumed; the caller decides to retry.
      if (request.orderingKey) topic.resumePublishing(request.orderingKey);
      throw error;
    }
  }

  private busy(): boolean {
    for (const worker of this.workers.values()) {
      if (worker.running > 0 || worker.pending.size > 0 || worker.sequencer.size > 0) return true;
    }
    return false;
  }

  private notifyProgress(): void {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const wake of waiters) wake();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the Pub/Sub event bus is closed');
  }
}

/** The message's attributes; a message the server dead-lettered also gets `deadLetterSource`. */
function attributesOf(message: Message): Record<string, string> {
  const attributes = { ...message.attributes };
  const source = attributes.CloudPubSubDeadLetterSourceSubscription;
  if (source !== undefined && attributes.deadLetterSource === undefined) attributes.deadLetterSource = source;
  return attributes;
}

function validateMessage(topic: string, message: OutgoingMessage): void {
  requireName('topic', topic);
  if (typeof message.data !== 'string') throw new TypeError(`message data must be a string (topic ${topic})`);
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    if (typeof value !== 'string') {
      throw new TypeError(`message attribute ${name} must be a string (topic ${topic})`);
    }
  }
}

function requireName(kind: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new Error(`${kind} name must be a non-empty string`);
}
