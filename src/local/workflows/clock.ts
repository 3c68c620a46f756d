/**
 * Time as the engine sees it: `now()` for sys.now and `sleep()` for sys.sleep and retry backoff.
 * Injected so tests with backoff run instantly on a virtual clock.
 */
export interface WorkflowClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(seconds: number): Promise<void>;
}

export const systemClock: WorkflowClock = {
  now: () => Date.now(),
  sleep: (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
};

/** A clock whose sleeps return at once and only advance its time; it records every sleep. */
export interface VirtualClock extends WorkflowClock {
  readonly sleeps: number[];
}

export function virtualClock(startMs = Date.UTC(2024, 0, 1)): VirtualClock {
  let t = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    async sleep(seconds) {
      sleeps.push(seconds);
      t += seconds * 1000;
      await Promise.resolve();
    },
  };
}
