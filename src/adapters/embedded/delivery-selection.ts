/**
 * Which pending deliveries of one subscription may start now. Pure, so the ordering rules can be
 * tested without a database or a clock.
 */
export interface PendingDelivery {
  seq: number;
  orderingKey: string | null;
  /** Deliveries already started (written before each start). */
  attempts: number;
  nextAttemptAt: number;
}

export interface DeliverySelection<D extends PendingDelivery> {
  /** Start these now, in this order. */
  start: D[];
  /** Out of attempts without a recorded outcome (the process died during the last one): dead-letter. */
  exhausted: D[];
  /** The earliest future retry time, when something waits for its backoff. */
  wakeAt?: number;
}

/**
 * `pending` must be in publish order. A delivery whose ordering key has an earlier pending message
 * (in flight, waiting for a retry, or simply earlier) waits behind it: Pub/Sub's ordering-key rule.
 * Messages without a key are independent.
 */
export function selectDeliveries<D extends PendingDelivery>(
  pending: readonly D[],
  state: { now: number; inFlight: ReadonlySet<number>; freeSlots: number; maxDeliveryAttempts: number },
): DeliverySelection<D> {
  const selection: DeliverySelection<D> = { start: [], exhausted: [] };
  const blockedKeys = new Set<string>();
  for (const delivery of pending) {
    const key = delivery.orderingKey;
    if (key !== null) {
      if (blockedKeys.has(key)) continue;
      blockedKeys.add(key);
    }
    if (state.inFlight.has(delivery.seq)) continue;
    if (delivery.attempts >= state.maxDeliveryAttempts) {
      selection.exhausted.push(delivery);
    } else if (delivery.nextAttemptAt > state.now) {
      selection.wakeAt = Math.min(selection.wakeAt ?? Infinity, delivery.nextAttemptAt);
    } else if (selection.start.length < state.freeSlots) {
      selection.start.push(delivery);
    }
  }
  return selection;
}

/** Exponential backoff after the `attempt`-th failed delivery: min · 2^(attempt−1), capped at max. */
export function backoffMs(attempt: number, minBackoffMs: number, maxBackoffMs: number): number {
  return Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.max(0, attempt - 1));
}
