import {
  formatDelta,
  formatDifference,
  formatDuration,
  formatEpsilon,
  formatInteger,
  formatInterval,
  formatNumber,
  formatPercent,
  MISSING,
} from '../../../../src/cli/report/format';

describe('report formatting', () => {
  it('shows figures with 3 significant digits and missing values as a dash', () => {
    expect(formatNumber(0.71234)).toBe('0.712');
    expect(formatNumber(5.5123)).toBe('5.51');
    expect(formatNumber(0.085312)).toBe('0.0853');
    expect(formatNumber(1.3612)).toBe('1.36');
    expect(formatNumber(1)).toBe('1');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-0.01234)).toBe('-0.0123');
    expect(formatNumber(1234.5)).toBe('1,235');
    expect(formatNumber(null)).toBe(MISSING);
    expect(formatNumber(undefined)).toBe(MISSING);
    expect(formatNumber(Number.NaN)).toBe(MISSING);
    expect(formatDifference(0.01234)).toBe('+0.0123');
    expect(formatDifference(-0.0051)).toBe('-0.0051');
    expect(formatInterval([0.78123, 0.84249])).toBe('0.781–0.842');
    expect(formatInterval(null)).toBe(MISSING);
  });

  it('groups thousands without depending on the locale', () => {
    expect(formatInteger(0)).toBe('0');
    expect(formatInteger(999)).toBe('999');
    expect(formatInteger(1234567)).toBe('1,234,567');
    expect(formatInteger(-4200)).toBe('-4,200');
    expect(formatInteger(null)).toBe(MISSING);
  });

  it('formats percentages and durations', () => {
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(formatDuration(8.44)).toBe('8.4 s');
    expect(formatDuration(187)).toBe('3 min 07 s');
    expect(formatDuration(7500)).toBe('2 h 05 min');
    expect(formatDuration(null)).toBe(MISSING);
  });

  it('states ε = ∞ for no guarantee and δ in scientific notation', () => {
    expect(formatEpsilon(null)).toBe('∞');
    // Rounded up, never down: a printed ε is never stronger than the accounted one.
    expect(formatEpsilon(3.21749)).toBe('3.22');
    expect(formatEpsilon(3.2141)).toBe('3.22');
    expect(formatEpsilon(3.22)).toBe('3.22');
    expect(formatEpsilon(0.99912)).toBe('1');
    expect(formatEpsilon(12.34)).toBe('12.4');
    expect(formatEpsilon(0.0012341)).toBe('0.00124');
    expect(formatEpsilon(0)).toBe('0');
    expect(formatDelta(1e-5)).toBe('1e-5');
    expect(formatDelta(2.5e-6)).toBe('2.5e-6');
    expect(formatDelta(0.01)).toBe('0.01');
  });
});
