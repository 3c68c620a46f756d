import { fitPowerLaw } from '../../../bench/statistics';

describe('fitPowerLaw (growth exponent on log-log)', () => {
  it('recovers the exponent and coefficient of an exact power law', () => {
    const xs = [3, 10, 100, 1000];
    const fit = fitPowerLaw(
      xs,
      xs.map((k) => 0.02 * k ** 1.5),
    );
    expect(fit.exponent).toBeCloseTo(1.5, 10);
    expect(fit.coefficient).toBeCloseTo(0.02, 10);
    expect(fit.rSquared).toBeCloseTo(1, 10);
    expect(fit.points).toBe(4);
  });

  it('gives 0 for constant cost and 1 for linear cost', () => {
    expect(fitPowerLaw([1, 10, 100], [5, 5, 5]).exponent).toBeCloseTo(0, 12);
    expect(fitPowerLaw([3, 30, 300], [0.3, 3, 30]).exponent).toBeCloseTo(1, 12);
  });

  it('is the least-squares slope when the points are not on one line', () => {
    // log-log points (0, 0), (1, 1), (2, 3) in base e: slope = Σ(x−1)(y−4/3) / Σ(x−1)² = 3/2.
    const e = Math.E;
    const fit = fitPowerLaw([1, e, e * e], [1, e, e ** 3]);
    expect(fit.exponent).toBeCloseTo(1.5, 12);
    expect(fit.rSquared).toBeGreaterThan(0.9);
    expect(fit.rSquared).toBeLessThan(1);
  });

  it('refuses inputs a log-log fit cannot take', () => {
    expect(() => fitPowerLaw([1], [1])).toThrow(/two points/);
    expect(() => fitPowerLaw([1, 2], [1])).toThrow(/same length/);
    expect(() => fitPowerLaw([1, 2], [0, 1])).toThrow(/positive/);
    expect(() => fitPowerLaw([2, 2], [1, 3])).toThrow(/distinct/);
  });
});
