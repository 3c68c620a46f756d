import { makeUpdates } from '../../../bench/suites/aggregation';
import {
  maskedRound,
  signUpdates,
  syntheticMaskedUpdates,
  verifyAll,
} from '../../../bench/suites/secure-aggregation';
import { clipToNorm } from '../../../src/core/federated';
import { fixedPointErrorBound, sumModular, unmaskAverage } from '../../../src/core/secure-aggregation';
import { aesCtrSeedExpander } from '../../../src/runtime/secure-aggregation-crypto';

describe('secure-aggregation benchmark inputs', () => {
  it('synthetic masks hide each update but cancel in the modular sum', () => {
    const encoded = [Int32Array.from([1, -2, 3]), Int32Array.from([10, 20, -30]), Int32Array.from([0, 5, 7])];
    const masked = syntheticMaskedUpdates(encoded);
    expect(masked).toHaveLength(3);
    expect(masked.some((m, k) => m.some((v, i) => v !== encoded[k][i]))).toBe(true);
    expect([...sumModular(masked, 3)]).toEqual([11, 23, -20]);
  });

  it('the masked round unmasks to the average of the clipped updates within the fixed-point bound', () => {
    const updates = makeUpdates(4, 257);
    const { round, fixedPoint } = maskedRound(updates);
    const average = unmaskAverage(round, aesCtrSeedExpander, fixedPoint, updates.length);
    const clipped = updates.map((u) => clipToNorm(u.delta, 1).clipped);
    const bound = fixedPointErrorBound(fixedPoint, updates.length) + 1e-7;
    for (let i = 0; i < 257; i++) {
      const expected = clipped.reduce((a, c) => a + c[i], 0) / updates.length;
      expect(Math.abs(average[i] - expected)).toBeLessThanOrEqual(bound);
    }
  });

  it('signs each update with its own key; verification fails on a tampered blob', () => {
    const updates = makeUpdates(3, 16);
    const signed = signUpdates(updates);
    expect(verifyAll(signed)).toBe(3);
    signed.fields[1].blob[20] ^= 1;
    expect(() => verifyAll(signed)).toThrow(/signature does not match/);
  });
});
