import fc from 'fast-check';
import { SeededRandom, standardNormal } from '../../../../src/core/random/seeded-random';

describe('SeededRandom', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const draw = (r: SeededRandom) => Array.from({ length: 8 }, () => r.nextUint32());
    const fromA = draw(a);
    expect(draw(b)).toEqual(fromA);
    expect(draw(c)).not.toEqual(fromA);
  });

  it('draws doubles in [0, 1) with mean ≈ 1/2 and uint32s in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const r = new SeededRandom(seed);
        for (let i = 0; i < 200; i++) {
          const d = r.nextDouble();
          const u = r.nextUint32();
          if (!(d >= 0 && d < 1) || !Number.isInteger(u) || u < 0 || u > 0xffffffff) return false;
        }
        return true;
      }),
    );
    const r = new SeededRandom(7);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += r.nextDouble();
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
  });

  it('forks streams that depend only on the seed and label, not on what was drawn before', () => {
    const parent = new SeededRandom(5);
    const before = parent.fork('hospital-1').nextUint32();
    for (let i = 0; i < 10; i++) parent.nextUint32();
    expect(parent.fork('hospital-1').nextUint32()).toBe(before);
    expect(parent.fork('hospital-2').nextUint32()).not.toBe(before);
  });

  it('standardNormal has mean ≈ 0 and variance ≈ 1', () => {
    const r = new SeededRandom(11);
    const n = 100_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const z = standardNormal(r);
      sum += z;
      sumSquares += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sumSquares / n - 1)).toBeLessThan(0.02);
  });
});
