import fc from 'fast-check';
import { l2Norm, validateUpdates, type ClientUpdate } from '../../../../src/core/federated';
import { validateRound } from '../../../../src/core/federated/strategy';

const update = (hospitalId: string, values: number[], numExamples = 1): ClientUpdate => ({
  hospitalId,
  delta: Float32Array.from(values),
  numExamples,
});

describe('validateRound', () => {
  it('sorts like validateUpdates and returns each update’s l2Norm, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer(),
        (ids, length, seed) => {
          const updates = ids.map((id, k) => {
            const delta = new Float32Array(length);
            for (let i = 0; i < length; i++) delta[i] = Math.sin(seed + 31 * k + i) * 3e4;
            return { hospitalId: id, delta, numExamples: k };
          });
          const global = new Float32Array(length);
          const { sorted, norms } = validateRound(global, updates);
          expect(sorted).toEqual(validateUpdates(global, updates));
          expect(norms).toEqual(sorted.map((u) => l2Norm(u.delta)));
        },
      ),
    );
  });

  it('finds NaN and ±Infinity through the norm and names the first bad index', () => {
    const global = new Float32Array(4);
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      expect(() => validateRound(global, [update('a', [1, 2, 3, 4]), update('b', [0, bad, 1, bad])])).toThrow(
        `hospital b: delta has a non-finite value (${bad}) at index 1`,
      );
    }
    // +Infinity and -Infinity in one vector: their squares do not cancel.
    expect(() => validateRound(global, [update('a', [Infinity, -Infinity, 0, 0])])).toThrow(/index 0/);
    expect(() =>
      validateRound(Float32Array.from([0, 0, -Infinity, Infinity]), [update('a', [0, 0, 0, 0])]),
    ).toThrow('global weights have a non-finite value at index 2');
  });

  it('accepts the largest float32 values without overflowing its float64 sums', () => {
    const max = 3.4028234663852886e38;
    const values = new Array<number>(1000).fill(max);
    const { norms } = validateRound(Float32Array.from(values.map((x) => -x)), [update('a', values)]);
    expect(norms[0]).toBe(l2Norm(Float32Array.from(values)));
    expect(Number.isFinite(norms[0])).toBe(true);
  });
});
