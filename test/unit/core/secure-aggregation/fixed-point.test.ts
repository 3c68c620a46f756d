import fc from 'fast-check';
import {
  chooseFixedPointScale,
  decodeFixedPointAverage,
  encodeFixedPoint,
  fixedPointErrorBound,
  sumModular,
} from '../../../../src/core/secure-aggregation';

describe('fixed-point encoding', () => {
  it('chooses the largest power-of-two scale that cannot overflow K hospitals', () => {
    for (const [clipNorm, k] of [
      [1, 10],
      [0.1, 3],
      [5, 2],
      [1, 1000],
    ] as const) {
      const { scale } = chooseFixedPointScale(clipNorm, k);
      expect(Math.log2(scale) % 1).toBe(0);
      const worst = k * (clipNorm * (1 + 2 ** -10) * scale + 0.5);
      expect(worst).toBeLessThanOrEqual(2 ** 31 - 1);
      expect(k * (clipNorm * (1 + 2 ** -10) * 2 * scale + 0.5)).toBeGreaterThan(2 ** 31 - 1);
    }
    expect(chooseFixedPointScale(1, 10).scale).toBe(2 ** 27);
  });

  it('does not wrap when K hospitals all send ±C in every coordinate', () => {
    const params = chooseFixedPointScale(2, 7);
    for (const sign of [1, -1]) {
      const update = new Float32Array(4).fill(sign * 2);
      const sum = sumModular(
        Array.from({ length: 7 }, () => encodeFixedPoint(update, params)),
        4,
      );
      const average = decodeFixedPointAverage(sum, params, 7);
      for (const v of average) expect(v).toBeCloseTo(sign * 2, 6);
    }
  });

  it('decodes the sum within K/(2·scale·m) of the true average (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 32 }),
        fc.double({ min: 0.01, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (k, p, clipNorm, seed) => {
          const params = chooseFixedPointScale(clipNorm, k);
          let state = seed;
          const next = (): number => {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            return state / 2 ** 32;
          };
          const updates = Array.from({ length: k }, () =>
            Float32Array.from({ length: p }, () => (2 * next() - 1) * clipNorm),
          );
          const m = k + 1;
          const average = decodeFixedPointAverage(
            sumModular(
              updates.map((u) => encodeFixedPoint(u, params)),
              p,
            ),
            params,
            m,
          );
          const bound = fixedPointErrorBound(params, m);
          for (let i = 0; i < p; i++) {
            let exact = 0;
            for (const u of updates) exact += u[i];
            exact /= m;
            expect(Math.abs(average[i] - exact)).toBeLessThanOrEqual(
              bound + Math.abs(exact) * 2 ** -24 + 1e-45,
            );
          }
        },
      ),
    );
  });

  it('rejects values outside ±C and non-finite values', () => {
    const params = chooseFixedPointScale(1, 3);
    expect(() => encodeFixedPoint(new Float32Array([1.01]), params)).toThrow(/outside ±1/);
    expect(() => encodeFixedPoint(new Float32Array([NaN]), params)).toThrow(/NaN/);
    expect(() => encodeFixedPoint(new Float32Array([-Infinity]), params)).toThrow(/Infinity/);
    expect(() => chooseFixedPointScale(0, 3)).toThrow(RangeError);
    expect(() => chooseFixedPointScale(1, 0)).toThrow(RangeError);
  });
});
