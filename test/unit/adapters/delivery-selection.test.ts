import {
  backoffMs,
  selectDeliveries,
  type PendingDelivery,
} from '../../../src/adapters/embedded/delivery-selection';

const row = (
  seq: number,
  orderingKey: string | null,
  extra: Partial<PendingDelivery> = {},
): PendingDelivery => ({
  seq,
  orderingKey,
  attempts: 0,
  nextAttemptAt: 0,
  ...extra,
});
const state = { now: 1000, inFlight: new Set<number>(), freeSlots: 8, maxDeliveryAttempts: 5 };

describe('selectDeliveries', () => {
  test('starts only the first pending message of each ordering key; unkeyed ones all start', () => {
    const pending = [row(1, 'a'), row(2, 'a'), row(3, null), row(4, 'b'), row(5, null)];
    expect(selectDeliveries(pending, state).start.map((d) => d.seq)).toEqual([1, 3, 4, 5]);
  });

  test('a key whose head is in flight or backing off blocks the rest of that key', () => {
    const pending = [
      row(1, 'a'),
      row(2, 'a'),
      row(3, 'b', { nextAttemptAt: 1500 }),
      row(4, 'b'),
      row(6, null),
    ];
    const selection = selectDeliveries(pending, { ...state, inFlight: new Set([1]) });
    expect(selection.start.map((d) => d.seq)).toEqual([6]);
    expect(selection.wakeAt).toBe(1500);
  });

  test('respects the free slots and reports deliveries out of attempts', () => {
    const pending = [row(1, null, { attempts: 5 }), row(2, null), row(3, null), row(4, null)];
    const selection = selectDeliveries(pending, { ...state, freeSlots: 2 });
    expect(selection.exhausted.map((d) => d.seq)).toEqual([1]);
    expect(selection.start.map((d) => d.seq)).toEqual([2, 3]);
  });
});

test('backoff doubles from the minimum up to the cap', () => {
  expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffMs(attempt, 50, 2000))).toEqual([
    50, 100, 200, 400, 800, 1600, 2000,
  ]);
});
