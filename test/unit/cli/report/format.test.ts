import {
  decimalsForStep,
  formatDelta,
  formatDuration,
  formatEpsilon,
  formatFixed,
  formatInteger,
  formatPercent,
  MISSING,
} from '../../../../src/cli/report/format';

describe('report formatting', () => {
  it('shows metrics with 3 decimals and missing values as a dash', () => {
    expect(formatFixed(0.71234)).toBe('0.712');
    expect(formatFixed(1)).toBe('1.000');
    expect(formatFixed(null)).toBe(MISSING);
    expect(formatFixed(undefined)).toBe(MISSING);
    expect(formatFixed(Number.NaN)).toBe(MISSING);
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
    expect(formatEpsilon(3.21749)).toBe('3.217');
    expect(formatDelta(1e-5)).toBe('1e-5');
    expect(formatDelta(2.5e-6)).toBe('2.5e-6');
    expect(formatDelta(0.01)).toBe('0.01');
  });

  it('picks tick-label decimals from the tick step', () => {
    expect(decimalsForStep(0.05)).toBe(2);
    expect(decimalsForStep(0.1)).toBe(1);
    expect(decimalsForStep(0.2)).toBe(1);
    expect(decimalsForStep(1)).toBe(0);
    expect(decimalsForStep(50)).toBe(0);
  });
});
