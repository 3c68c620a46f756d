/**
 * Runs the messages of one ordering key one at a time, in the order they first arrived, even
 * across a failed attempt. Pub/Sub delivers keyed messages in publish order but does not stop the
 * stream while a handler runs, and after a nack the emulator redelivers only the nacked message
 * (the service redelivers it and everything after it). So the adapter holds later messages of the
 * key until the failed one has come back and succeeded, and merges redelivered copies into the
 * entry they belong to. Independent of Pub/Sub types so it can be tested with plain values.
 */
export type AttemptOutcome = 'done' | 'retry';

export interface Sequenced {
  id: string;
}

interface Entry<M> {
  id: string;
  /** Every copy received (a redelivery is a new copy with a new ack id); the newest runs. */
  copies: M[];
  /** The last attempt failed and was nacked: wait for the redelivery before running again. */
  awaitingRedelivery: boolean;
}

export class OrderingKeySequencer<M extends Sequenced> {
  private readonly queues = new Map<string, { entries: Entry<M>[]; running: boolean }>();

  /**
   * `run` handles the newest copy and settles (acks or nacks) every copy it is given;
   * `settleDuplicates` acks copies that arrived while an attempt that then succeeded was running.
   */
  constructor(
    private readonly run: (copies: M[]) => Promise<AttemptOutcome>,
    private readonly settleDuplicates: (copies: M[]) => void,
  ) {}

  offer(key: string, message: M): void {
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { entries: [], running: false };
      this.queues.set(key, queue);
    }
    const entry = queue.entries.find((candidate) => candidate.id === message.id);
    if (entry) {
      entry.copies.push(message);
      entry.awaitingRedelivery = false;
    } else {
      queue.entries.push({ id: message.id, copies: [message], awaitingRedelivery: false });
    }
    void this.pump(key);
  }

  /** Messages held or running, over all keys. */
  get size(): number {
    let size = 0;
    for (const queue of this.queues.values()) size += queue.entries.length;
    return size;
  }

  private async pump(key: string): Promise<void> {
    const queue = this.queues.get(key);
    if (queue === undefined || queue.running) return;
    queue.running = true;
    try {
      for (;;) {
        const head = queue.entries[0];
        if (head === undefined || head.awaitingRedelivery) break;
        const copies = head.copies;
        head.copies = [];
        const outcome = await this.run(copies);
        if (outcome === 'done') {
          queue.entries.shift();
          if (head.copies.length > 0) this.settleDuplicates(head.copies);
        }
        // A copy that arrived while the attempt ran is the redelivery: run it next.
        else head.awaitingRedelivery = head.copies.length === 0;
      }
    } finally {
      queue.running = false;
      if (queue.entries.length === 0) this.queues.delete(key);
    }
  }
}
