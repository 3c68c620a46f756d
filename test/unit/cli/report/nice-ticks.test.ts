import fc from 'fast-check';
import { niceNumber, niceTicks } from '../../../../src/cli/report/nice-ticks';

describe('niceNumber', () => {
  it('rounds to 1, 2, 5 or 10 times a power of ten', () => {
    expect(niceNumber(0.19, false)).toBeCloseTo(0.2);
    expect(niceNumber(0.04, true)).toBeCloseTo(0.05);
    expect(niceNumber(7.2, true)).toBe(10);
    expect(niceNumber(1.2, true)).toBe(1);
    expect(niceNumber(2.5, true)).toBe(2);
  });
});

describe('niceTicks', () => {
  it('covers an AUROC range with steps of 0.05', () => {
    expect(niceTicks(0.62, 0.81)).toEqual({
      min: 0.6,
      max: 0.85,
      step: 0.05,
      values: [0.6, 0.65, 0.7, 0.75, 0.8, 0.85],
    });
  });

  it('gives whole rounds for an integer axis', () => {
    expect(niceTicks(0, 5, { count: 10, integer: true }).values).toEqual([0, 1, 2, 3, 4, 5]);
    expect(niceTicks(0, 1, { count: 10, integer: true }).values).toEqual([0, 1]);
    const long = niceTicks(0, 100, { count: 10, integer: true });
    expect(long.step).toBe(10);
    expect(long.values[long.values.length - 1]).toBe(100);
  });

  it('opens a window around a single value', () => {
    const ticks = niceTicks(0.7, 0.7);
    expect(ticks.min).toBeLessThan(0.7);
    expect(ticks.max).toBeGreaterThan(0.7);
    expect(niceTicks(0, 0).values.length).toBeGreaterThanOrEqual(2);
    expect(niceTicks(3, 3, { integer: true }).values).toEqual([2, 3, 4]);
  });

  it('survives reversed and non-finite input', () => {
    expect(niceTicks(1, 0).values).toEqual(niceTicks(0, 1).values);
    expect(niceTicks(Number.NaN, Number.POSITIVE_INFINITY).values.every(Number.isFinite)).toBe(true);
  });

  it('has no floating-point dust in tick values', () => {
    expect(niceTicks(0.1, 0.3).values).toEqual([0.1, 0.15, 0.2, 0.25, 0.3]);
  });

  it('always covers the data with a few evenly spaced nice ticks', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 2, max: 12 }),
        (lo, width, count) => {
          const hi = lo + width;
          const ticks = niceTicks(lo, hi, { count });
          const tolerance = ticks.step * 1e-6;
          expect(ticks.min).toBeLessThanOrEqual(lo + tolerance);
          expect(ticks.max).toBeGreaterThanOrEqual(hi - tolerance);
          expect(ticks.values.length).toBeGreaterThanOrEqual(2);
          expect(ticks.values.length).toBeLessThanOrEqual(2 * count + 2);
          const mantissa = ticks.step / 10 ** Math.floor(Math.log10(ticks.step));
          expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
          ticks.values.slice(1).forEach((v, i) => expect(v - ticks.values[i]).toBeCloseTo(ticks.step, 6));
        },
      ),
      { numRuns: 300 },
    );
  });
});
