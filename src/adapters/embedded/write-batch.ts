/**
 * Group commit: items added while a flush is running wait and go together in the next one, so
 * N concurrent writers pay for about one statement (DuckDB costs ≈ 1-5 ms per statement, whatever
 * it writes, and the embedded adapters run one statement at a time). Each `add` resolves once the
 * flush that carried its item has returned (committed), or rejects with that flush's error: the
 * caller's durability is the same as writing alone.
 */
export class WriteBatch<T, R = void> {
  private queue: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private draining = false;

  /** `flush` writes the items (in the order added) and returns one result per item, in that order. */
  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    /** Runs the drain loop outside the caller's async context (EmbeddedDatabase.detached). */
    private readonly detach: (fn: () => void) => void = (fn) => fn(),
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        this.detach(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const results = await this.flush(batch.map((entry) => entry.item));
          batch.forEach((entry, i) => entry.resolve(results[i]));
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
