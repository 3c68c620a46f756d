import { logAdd, logSub } from '../../../../src/core/privacy/log-space';
import { logErfc, standardNormalCdf } from '../../../../src/core/privacy/special-functions';

describe('log-space arithmetic', () => {
  it('adds and subtracts in log space, with -Infinity as zero', () => {
    expect(logAdd(Math.log(2), Math.log(3))).toBeCloseTo(Math.log(5), 15);
    expect(logAdd(-Infinity, 1.5)).toBe(1.5);
    expect(logSub(Math.log(5), Math.log(3))).toBeCloseTo(Math.log(2), 15);
    expect(logSub(2, 2)).toBe(-Infinity);
    expect(logSub(1000, 1)).toBe(1000 + Math.log1p(-Math.exp(-999)));
    expect(() => logSub(1, 2)).toThrow(RangeError);
  });
});

describe('logErfc', () => {
  // Reference values: erfc from Abramowitz & Stegun Table 7.1 / standard tables, rounded to double precision.
  it.each([
    [0, Math.log(1)],
    [0.5, Math.log(0.4795001221869535)],
    [1, Math.log(0.15729920705028513)],
    [2, Math.log(0.004677734981047266)],
    [3, Math.log(2.209049699858544e-5)],
    [-1, Math.log(1.8427007929497148)],
  ])('erfc(%d)', (x, expected) => {
    expect(logErfc(x)).toBeCloseTo(expected, 13);
  });
  it('stays finite and accurate far in the tail (erfc(30) underflows in double precision... nearly)', () => {
    // log erfc(x) = -x^2 - log(x sqrt(pi)) + log(1 - 1/(2x^2) + 3/(4x^4) - ...)
    const x = 40;
    const asymptotic =
      -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log1p(-1 / (2 * x * x) + 3 / (4 * x ** 4));
    expect(logErfc(x)).toBeCloseTo(asymptotic, 9);
    expect(logErfc(1e4)).toBeLessThan(-1e8);
  });
  it('is continuous across the series / continued-fraction switch at x = 2', () => {
    expect(logErfc(2 - 1e-12)).toBeCloseTo(logErfc(2), 10);
  });
  it('standardNormalCdf is Phi', () => {
    expect(standardNormalCdf(0)).toBe(0.5);
    expect(standardNormalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
  });
});
