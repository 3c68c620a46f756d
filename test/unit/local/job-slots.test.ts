import { JobSlots } from '../../../src/local/jobs/job-slots';

describe('JobSlots', () => {
  /** A job that stays running until released, recording how many run at once. */
  function gate() {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const job =
      (id: number, fail = false) =>
      async () => {
        running++;
        peak = Math.max(peak, running);
        started.push(id);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        if (fail) throw new Error(`job ${id} failed`);
        return id;
      };
    const releaseAll = async () => {
      while (releases.length > 0) {
        releases.shift()!();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    return { job, started, releases, releaseAll, peak: () => peak };
  }

  test('runs at most `limit` jobs at once and starts the others in arrival order', async () => {
    const slots = new JobSlots(3);
    const g = gate();
    const results = Array.from({ length: 10 }, (_, i) => slots.run(g.job(i)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.started).toEqual([0, 1, 2]);
    const settle = (async () => {
      while (g.started.length < 10 || g.releases.length > 0) await g.releaseAll();
    })();
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await settle;
    expect(g.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(g.peak()).toBe(3);
  });

  test('a failed job frees its slot: the next one runs and the failure reaches its caller', async () => {
    const slots = new JobSlots(1);
    const g = gate();
    const failing = slots.run(g.job(0, true));
    const next = slots.run(g.job(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.started).toEqual([0]);
    await g.releaseAll();
    await expect(failing).rejects.toThrow('job 0 failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.started).toEqual([0, 1]);
    await g.releaseAll();
    expect(await next).toBe(1);
  });

  test('refuses a limit that is not a positive integer', () => {
    expect(() => new JobSlots(0)).toThrow(RangeError);
    expect(() => new JobSlots(1.5)).toThrow(RangeError);
  });
});
