import fc from 'fast-check';
import { clipToNorm, l2Norm } from '../../../../src/core/federated';

const vector = fc
  .array(fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), {
    minLength: 0,
    maxLength: 64,
  })
  .map((values) => Float32Array.from(values));

describe('l2Norm', () => {
  it('is the Euclidean norm, accumulated in float64', () => {
    expect(l2Norm(Float32Array.from([3, 4]))).toBe(5);
    expect(l2Norm(new Float32Array(0))).toBe(0);
    // 1e6 equal entries x: float32 accumulation would drift; float64 gives sqrt(1e6 x^2) = 1000 x.
    expect(l2Norm(new Float32Array(1_000_000).fill(1e-4))).toBeCloseTo(1000 * Math.fround(1e-4), 10);
  });
});

describe('clipToNorm', () => {
  it('bounds the norm by C (1 + 1e-6)', () => {
    fc.assert(
      fc.property(vector, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (v, clipNorm) => {
        const { clipped, norm, scale } = clipToNorm(v, clipNorm);
        expect(l2Norm(clipped)).toBeLessThanOrEqual(clipNorm * (1 + 1e-6));
        expect(norm).toBe(l2Norm(v));
        expect(scale).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('leaves vectors shorter than C unchanged (as a copy)', () => {
    fc.assert(
      fc.property(vector, (v) => {
        const clipNorm = l2Norm(v) + 1;
        const { clipped, scale } = clipToNorm(v, clipNorm);
        expect(scale).toBe(1);
        expect(clipped).toEqual(v);
        expect(clipped).not.toBe(v);
      }),
    );
  });

  it('keeps the direction of long vectors', () => {
    const { clipped, norm, scale } = clipToNorm(Float32Array.from([3, 4]), 1);
    expect(norm).toBe(5);
    expect(scale).toBeCloseTo(0.2, 15);
    expect(Array.from(clipped)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
  });

  it('rejects a non-positive clip norm', () => {
    expect(() => clipToNorm(new Float32Array(2), 0)).toThrow(RangeError);
    expect(() => clipToNorm(new Float32Array(2), NaN)).toThrow(RangeError);
    expect(() => clipToNorm(new Float32Array(2), Infinity)).toThrow(
      /clipNorm must be positive and finite, got Infinity/,
    );
    expect(() => clipToNorm(new Float32Array(2), -1)).toThrow(/got -1/);
  });
});
