/**
 * At most `limit` holders at once; the rest wait in arrival order. In-process hospital jobs share
 * one thread, so running all K at once buys no parallelism, only K models, cohorts and tensors
 * alive together (K = 1,000: 4.9 GB peak). A few at a time still overlap one job's waits on
 * storage with another's training, and each job's memory is released before the next starts.
 */
export class JobSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`job slots must be a positive integer, got ${limit}`);
  }

  async run<R>(job: () => Promise<R>): Promise<R> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await job();
    } finally {
      // The slot passes straight to the next waiter (running stays the same), else it is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
