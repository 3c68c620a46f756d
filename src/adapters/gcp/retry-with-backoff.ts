import { randomInt } from 'node:crypto';

/**
 * Retries a call to a cloud API that failed transiently (quota, unavailable), waiting
 * exponentially longer each time with full jitter (so many instances retrying together spread
 * out), and rethrows the last error once the attempts are spent or the error is not transient.
 * The sleep is injectable so tests can count waits without waiting.
 */
export interface RetryPolicy {
  /** Calls in total, the first included (default 5). */
  maxAttempts?: number;
  /** Upper bound of the first wait (default 500 ms); doubles every attempt. */
  initialDelayMs?: number;
  /** Upper bound of any one wait (default 16 s). */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function retryWithBackoff<T>(
  call: (attempt: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policy: RetryPolicy = {},
): Promise<T> {
  const maxAttempts = policy.maxAttempts ?? 5;
  const sleep = policy.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isTransient(error)) throw error;
      const cap = Math.min(policy.maxDelayMs ?? 16_000, (policy.initialDelayMs ?? 500) * 2 ** (attempt - 1));
      await sleep(randomInt(0, Math.max(1, Math.floor(cap)) + 1));
    }
  }
}
