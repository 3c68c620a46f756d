import type {
  Delivery,
  DeliveryHandler,
  EventBus,
  OutgoingMessage,
  SubscriptionSpec,
} from '../../ports/event-bus';
import type { HeldMessage, MessageHold } from '../../ports/message-hold';
import { backoffMs, selectDeliveries, type PendingDelivery } from './delivery-selection';
import type { EmbeddedDatabase, SqlExecutor } from './embedded-database';
import { WriteBatch } from './write-batch';

export interface EmbeddedEventBusOptions {
  /** First retry delay after a failed delivery; doubles per attempt (default 50 ms). */
  minBackoffMs?: number;
  /** Retry delay cap (default 2 s). */
  maxBackoffMs?: number;
  /** Deliveries of one subscription running at once (default 32: Pub/Sub push has no such cap, and an
   * aggregation function waiting on storage overlaps its deliveries, K = 100: closing 7.8 s at 8, 4.3 s at 32). */
  maxConcurrentDeliveries?: number;
  /** Pending deliveries read per scan of a subscription (default 500). */
  scanLimit?: number;
  /** Close the database with the bus (when the bus owns it). */
  closeDatabase?: boolean;
  /** Where errors of the bus itself (not of handlers) go; default console.error. */
  onError?: (error: unknown) => void;
}

const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;
// Signal name on EmbeddedDatabase.signals, so every bus on one file hears every publish.
const PUBLISHED = 'event-bus:published';

interface Worker {
  name: string;
  topic: string;
  maxDeliveryAttempts: number;
  deadLetterTopic: string | null;
  handler: DeliveryHandler;
  inFlight: Set<number>;
  /** Acks of finished deliveries, written together (one UPDATE per flush). */
  acks: WriteBatch<number>;
  pumping: boolean;
  pumpAgain: boolean;
  /**
   * The last scan started every pending delivery it saw (none waits for a slot, an ordering key,
   * a backoff or a dead letter): until something is published or a timer fires, a delivery that
   * succeeds frees a slot nothing is waiting for, so it needs no scan of its own. Cleared by
   * every publish signal and wake-up; a failed delivery always scans (its retry or dead letter).
   */
  settled: boolean;
  timer?: NodeJS.Timeout;
  timerAt?: number;
}

interface PendingRow extends PendingDelivery {
  id: string;
  topic: string;
  data: string;
  attributes: string;
  publishTime: string;
}

/**
 * EventBus persisted in the embedded database, with Pub/Sub semantics (see the port). A message is
 * stored with one delivery row per subscription of its topic in one transaction, so a subscription
 * keeps its messages while no handler is attached, including across a crash or restart. Delivery
 * is driven by scans of the pending rows (after a publish, a completed delivery, or a backoff
 * timer), never from inside publish.
 */
export class EmbeddedEventBus implements EventBus, MessageHold {
  private readonly workers = new Map<string, Worker>();
  private progressWaiters: Array<() => void> = [];
  private closed = false;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxConcurrent: number;
  private readonly scanLimit: number;
  private readonly onError: (error: unknown) => void;
  /** Publishes from outside a transaction, committed together (one transaction per flush). */
  private readonly publishes: WriteBatch<{ topic: string; message: OutgoingMessage }, number>;
  private readonly onPublished = (topic: string) => {
    for (const worker of this.workers.values())
      if (worker.topic === topic) {
        worker.settled = false;
        this.schedulePump(worker);
      }
  };

  constructor(
    private readonly database: EmbeddedDatabase,
    private readonly options: EmbeddedEventBusOptions = {},
  ) {
    this.minBackoffMs = options.minBackoffMs ?? 50;
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.maxConcurrent = options.maxConcurrentDeliveries ?? 32;
    this.scanLimit = options.scanLimit ?? 500;
    this.onError = options.onError ?? ((error) => console.error('embedded event bus:', error));
    database.signals.on(PUBLISHED, this.onPublished);
    this.publishes = new WriteBatch(
      (batch) => this.database.transaction((sql) => insertMessages(sql, batch)),
      (fn) => this.database.detached(fn),
    );
  }

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    this.assertOpen();
    validateMessage(topic, message);
    // Inside a transaction the message commits (or rolls back) with it; otherwise concurrent
    // publishes share one transaction, each resolving once it is committed.
    const seq = this.database.isHeld()
      ? (await this.database.transaction((sql) => insertMessages(sql, [{ topic, message }])))[0]
      : await this.publishes.add({ topic, message });
    this.database.signals.emit(PUBLISHED, topic);
    return String(seq);
  }

  /**
   * Creates the subscription (or updates its retry settings) without attaching a handler: from
   * now on messages published to its topic are kept for it. Pub/Sub's subscription resource.
   */
  async createSubscription(spec: SubscriptionSpec): Promise<void> {
    this.assertOpen();
    requireName('subscription', spec.name);
    requireName('topic', spec.topic);
    const maxDeliveryAttempts = spec.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
    if (!Number.isInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 1) {
      throw new Error(`subscription ${spec.name}: maxDeliveryAttempts must be a positive integer`);
    }
    await this.database.transaction(async (sql) => {
      const existing = await sql.all<{ topic: string }>(
        'SELECT topic FROM bus_subscriptions WHERE name = $1',
        [spec.name],
      );
      if (existing.length > 0 && existing[0].topic !== spec.topic) {
        throw new Error(
          `subscription ${spec.name} already exists on topic ${existing[0].topic}, not ${spec.topic}`,
        );
      }
      await sql.run(
        `INSERT INTO bus_subscriptions VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET max_delivery_attempts = excluded.max_delivery_attempts,
           dead_letter_topic = excluded.dead_letter_topic`,
        [spec.name, spec.topic, maxDeliveryAttempts, spec.deadLetterTopic ?? null],
      );
    });
  }

  async subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<void> {
    const alreadyAttached = () => {
      if (this.workers.has(spec.name)) throw new Error(`subscription ${spec.name} already has a handler`);
    };
    alreadyAttached();
    await this.createSubscription(spec);
    alreadyAttached(); // a concurrent subscribe of the same name may have won the await
    const worker: Worker = {
      name: spec.name,
      topic: spec.topic,
      maxDeliveryAttempts: spec.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS,
      deadLetterTopic: spec.deadLetterTopic ?? null,
      handler,
      inFlight: new Set(),
      acks: new WriteBatch<number>(
        async (seqs) => {
          await this.database.run(
            `UPDATE bus_deliveries SET state = 'acked'
             WHERE subscription = $1 AND message_seq IN (${seqs.map((seq) => String(seq)).join(', ')})`,
            [spec.name],
          );
          return seqs.map((): void => undefined);
        },
        (fn) => this.database.detached(fn),
      ),
      pumping: false,
      pumpAgain: false,
      settled: false,
    };
    this.workers.set(spec.name, worker);
    // Pending deliveries from before (a restart) start now.
    this.schedulePump(worker);
  }

  /**
   * The pending messages of a subscription no handler is attached to (a dead-letter hold), oldest
   * first. Refused for an attached one: its messages are being delivered, not held.
   */
  async pull(subscription: string): Promise<HeldMessage[]> {
    this.assertOpen();
    this.assertHeld(subscription);
    const rows = await this.database.all<Record<string, unknown>>(
      `SELECT d.message_seq AS seq, m.id, m.data, m.attributes, m.publish_time
       FROM bus_deliveries d JOIN bus_messages m ON m.seq = d.message_seq
       WHERE d.subscription = $1 AND d.state = 'pending' ORDER BY d.message_seq`,
      [subscription],
    );
    return rows.map((row) => ({
      ackId: String(row.seq),
      messageId: row.id as string,
      data: row.data as string,
      attributes: JSON.parse(row.attributes as string) as Record<string, string>,
      publishTime: row.publish_time as string,
    }));
  }

  async acknowledge(subscription: string, ackIds: string[]): Promise<void> {
    this.assertOpen();
    this.assertHeld(subscription);
    const seqs = ackIds.map(Number).filter((n) => Number.isSafeInteger(n));
    if (seqs.length === 0) return;
    await this.database.run(
      `UPDATE bus_deliveries SET state = 'acked'
       WHERE subscription = $1 AND message_seq IN (${seqs.join(', ')})`,
      [subscription],
    );
  }

  /** Nothing to give back: a pull here leaves the messages pending. */
  async release(): Promise<void> {}

  private assertHeld(subscription: string): void {
    if (this.workers.has(subscription))
      throw new Error(`subscription ${subscription} has a handler: its messages are delivered, not held`);
  }

  /**
   * Resolves when no delivery of an attached subscription is running or pending — including ones
   * waiting for a retry backoff, which it waits out. Never resolves while a handler hangs.
   */
  async idle(): Promise<void> {
    while (!this.closed) {
      const progress = new Promise<void>((resolve) => this.progressWaiters.push(resolve));
      if (!this.busy() && (await this.pendingCount()) === 0 && !this.busy()) return;
      // A progress signal normally wakes us; the timeout is a safety net for missed signals.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([progress, new Promise<void>((resolve) => (timer = setTimeout(resolve, 250)))]);
      clearTimeout(timer);
    }
  }

  /**
   * Stops delivering. Running handlers are not awaited (one may never return); their outcome is
   * dropped, so those deliveries stay pending and are redelivered by the next bus on this database.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.database.signals.off(PUBLISHED, this.onPublished);
    for (const worker of this.workers.values()) clearTimeout(worker.timer);
    this.notifyProgress();
    if (this.options.closeDatabase) await this.database.close();
  }

  private schedulePump(worker: Worker): void {
    if (this.closed) return;
    if (worker.pumping) {
      worker.pumpAgain = true;
      return;
    }
    worker.pumping = true;
    // Detached: a publish inside an open transaction must not let the scan join that transaction;
    // the scan waits for it to commit instead.
    this.database.detached(() => setImmediate(() => void this.pump(worker)));
  }

  private async pump(worker: Worker): Promise<void> {
    try {
      do {
        worker.pumpAgain = false;
        await this.scan(worker);
      } while (worker.pumpAgain && !this.closed);
    } catch (error) {
      if (!this.closed) {
        this.onError(error);
        this.wakeAt(worker, Date.now() + this.maxBackoffMs);
      }
    } finally {
      worker.pumping = false;
      this.notifyProgress();
    }
  }

  private async scan(worker: Worker): Promise<void> {
    const freeSlots = this.maxConcurrent - worker.inFlight.size;
    if (freeSlots <= 0 || this.closed) return;
    // Two steps, so a scan costs what it starts, not what is waiting (a scan follows every finished
    // delivery: reading every pending message's body each time was O(K²) over a round of K
    // updates). First the pending deliveries' scheduling facts, leaving out those in flight that no
    // ordering key needs (selectDeliveries would skip them anyway); then the bodies of the ones
    // that start or are dead-lettered.
    const inFlight = [...worker.inFlight].map((seq) => String(seq)).join(', ');
    const rows = await this.database.all<Record<string, unknown>>(
      `SELECT d.message_seq AS seq, d.attempts, d.next_attempt_at, m.ordering_key
       FROM bus_deliveries d JOIN bus_messages m ON m.seq = d.message_seq
       WHERE d.subscription = $1 AND d.state = 'pending'
       ${inFlight === '' ? '' : `AND NOT (m.ordering_key IS NULL AND d.message_seq IN (${inFlight}))`}
       ORDER BY d.message_seq LIMIT ${this.scanLimit}`,
      [worker.name],
    );
    if (this.closed) return;
    const pending: PendingDelivery[] = rows.map((row) => ({
      seq: Number(row.seq),
      attempts: Number(row.attempts),
      nextAttemptAt: Number(row.next_attempt_at),
      orderingKey: (row.ordering_key as string | null) ?? null,
    }));
    const chosen = selectDeliveries(pending, {
      now: Date.now(),
      inFlight: worker.inFlight,
      freeSlots,
      maxDeliveryAttempts: worker.maxDeliveryAttempts,
    });
    const bodies = await this.messageBodies([...chosen.exhausted, ...chosen.start]);
    if (this.closed) return;
    const withBody = (deliveries: PendingDelivery[]) =>
      deliveries.map((d) => ({ ...d, ...bodies.get(d.seq)! }));
    const selection = {
      exhausted: withBody(chosen.exhausted),
      start: withBody(chosen.start),
      wakeAt: chosen.wakeAt,
    };
    // A full page may hide more; anything seen but not started waits for this worker to look again.
    worker.settled =
      rows.length < this.scanLimit &&
      chosen.exhausted.length === 0 &&
      chosen.start.length === pending.length &&
      chosen.wakeAt === undefined;
    for (const row of selection.exhausted) {
      await this.database.transaction((sql) => this.deadLetter(sql, worker, row, 'no outcome recorded'));
      worker.pumpAgain = true;
    }
    if (selection.start.length > 0) {
      // Count the attempt before the handler runs: a message that kills the process still moves
      // towards its dead-letter topic instead of crash-looping forever.
      await this.database.run(
        `UPDATE bus_deliveries SET attempts = attempts + 1
         WHERE subscription = $1 AND message_seq IN (${selection.start.map((row) => row.seq).join(', ')})`,
        [worker.name],
      );
      if (this.closed) return;
      for (const row of selection.start) {
        worker.inFlight.add(row.seq);
        void this.deliver(worker, row, row.attempts + 1);
      }
    }
    if (selection.wakeAt !== undefined) this.wakeAt(worker, selection.wakeAt);
  }

  /** The stored messages behind some deliveries, by seq (one statement). */
  private async messageBodies(
    deliveries: PendingDelivery[],
  ): Promise<Map<number, Omit<PendingRow, keyof PendingDelivery>>> {
    const bodies = new Map<number, Omit<PendingRow, keyof PendingDelivery>>();
    if (deliveries.length === 0) return bodies;
    const rows = await this.database.all<Record<string, unknown>>(
      `SELECT seq, id, topic, data, attributes, publish_time FROM bus_messages
       WHERE seq IN (${deliveries.map((d) => String(d.seq)).join(', ')})`,
    );
    for (const row of rows)
      bodies.set(Number(row.seq), {
        id: row.id as string,
        topic: row.topic as string,
        data: row.data as string,
        attributes: row.attributes as string,
        publishTime: row.publish_time as string,
      });
    return bodies;
  }

  private async deliver(worker: Worker, row: PendingRow, attempt: number): Promise<void> {
    const delivery: Delivery = {
      messageId: row.id,
      topic: row.topic,
      data: row.data,
      attributes: JSON.parse(row.attributes) as Record<string, string>,
      deliveryAttempt: attempt,
      publishTime: row.publishTime,
    };
    let failure: unknown;
    let failed = false;
    let scanAfter = true;
    try {
      await worker.handler(delivery);
    } catch (error) {
      failed = true;
      failure = error;
    }
    try {
      if (this.closed) return;
      if (!failed) {
        await worker.acks.add(row.seq);
        scanAfter = !worker.settled;
      } else if (attempt >= worker.maxDeliveryAttempts) {
        await this.database.transaction((sql) => this.deadLetter(sql, worker, row, describe(failure)));
      } else {
        await this.database.run(
          `UPDATE bus_deliveries SET next_attempt_at = $3, last_error = $4
           WHERE subscription = $1 AND message_seq = $2`,
          [
            worker.name,
            row.seq,
            Date.now() + backoffMs(attempt, this.minBackoffMs, this.maxBackoffMs),
            describe(failure),
          ],
        );
      }
    } catch (error) {
      scanAfter = true;
      if (!this.closed) this.onError(error);
    } finally {
      worker.inFlight.delete(row.seq);
      if (scanAfter) this.schedulePump(worker);
      this.notifyProgress();
    }
  }

  private async deadLetter(sql: SqlExecutor, worker: Worker, row: PendingRow, reason: string): Promise<void> {
    await sql.run(
      "UPDATE bus_deliveries SET state = 'dead', last_error = $3 WHERE subscription = $1 AND message_seq = $2",
      [worker.name, row.seq, reason],
    );
    if (worker.deadLetterTopic === null) return;
    const attributes = {
      ...(JSON.parse(row.attributes) as Record<string, string>),
      deadLetterSource: worker.name,
    };
    const message: OutgoingMessage = { data: row.data, attributes };
    if (row.orderingKey !== null) message.orderingKey = row.orderingKey;
    validateMessage(worker.deadLetterTopic, message);
    await insertMessages(sql, [{ topic: worker.deadLetterTopic, message }]);
    const topic = worker.deadLetterTopic;
    // Announce after the commit: the signal only schedules a scan, which waits for the lock anyway.
    setImmediate(() => this.database.signals.emit(PUBLISHED, topic));
  }

  private wakeAt(worker: Worker, at: number): void {
    if (this.closed || (worker.timer !== undefined && worker.timerAt !== undefined && worker.timerAt <= at)) {
      return;
    }
    clearTimeout(worker.timer);
    worker.timerAt = at;
    worker.timer = this.database.detached(() =>
      setTimeout(
        () => {
          worker.timer = undefined;
          worker.timerAt = undefined;
          worker.settled = false;
          this.schedulePump(worker);
        },
        Math.max(0, at - Date.now()),
      ),
    );
  }

  private busy(): boolean {
    for (const worker of this.workers.values()) if (worker.pumping || worker.inFlight.size > 0) return true;
    return false;
  }

  private async pendingCount(): Promise<number> {
    if (this.workers.size === 0) return 0;
    const names = [...this.workers.keys()];
    const rows = await this.database.all<{ n: bigint }>(
      `SELECT count(*) AS n FROM bus_deliveries WHERE state = 'pending' AND subscription IN (${names
        .map((_, i) => `$${i + 1}`)
        .join(', ')})`,
      names,
    );
    return Number(rows[0].n);
  }

  private notifyProgress(): void {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const wake of waiters) wake();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the embedded event bus is closed');
  }
}

function validateMessage(topic: string, message: OutgoingMessage): void {
  requireName('topic', topic);
  if (typeof message.data !== 'string') throw new TypeError(`message data must be a string (topic ${topic})`);
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    if (typeof value !== 'string')
      throw new TypeError(`message attribute ${name} must be a string (topic ${topic})`);
  }
}

/**
 * Stores messages (in the order given, so ordering keys keep publish order) and one pending
 * delivery per subscription of each one's topic; returns their seqs. Three statements whatever
 * the number of messages: reserve the seqs, insert the messages, insert the deliveries.
 */
async function insertMessages(
  sql: SqlExecutor,
  batch: Array<{ topic: string; message: OutgoingMessage }>,
): Promise<number[]> {
  const reserved = await sql.all<{ seq: bigint }>(
    `SELECT nextval('bus_message_seq') AS seq FROM range(${batch.length})`,
  );
  const seqs = reserved.map((row) => Number(row.seq)).sort((a, b) => a - b);
  const publishTime = new Date().toISOString();
  const params: Array<string | number | null> = [];
  const rows = batch.map(({ topic, message }, i) => {
    const base = params.length;
    params.push(
      seqs[i],
      topic,
      message.data,
      JSON.stringify(message.attributes ?? {}),
      message.orderingKey ?? null,
      publishTime,
    );
    return `($${base + 1}::BIGINT, CAST($${base + 1}::BIGINT AS VARCHAR), $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6})`;
  });
  await sql.run(`INSERT INTO bus_messages VALUES ${rows.join(', ')}`, params);
  const topics = batch.map((_, i) => `(${seqs[i]}::BIGINT, $${i + 1})`);
  await sql.run(
    `INSERT INTO bus_deliveries
     SELECT s.name, m.seq, 0, 'pending', 0, NULL
     FROM (VALUES ${topics.join(', ')}) m(seq, topic) JOIN bus_subscriptions s ON s.topic = m.topic`,
    batch.map(({ topic }) => topic),
  );
  return seqs;
}

function requireName(kind: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new Error(`${kind} name must be a non-empty string`);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
