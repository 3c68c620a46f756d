import { iqr, meanInterval95, median, quantile, summarize, throughputRatio } from '../../../bench/statistics';
import { measureSideBySide } from '../../../bench/harness';

describe('bench statistics', () => {
  it('takes the median of odd and even lists regardless of order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('interpolates quartiles linearly (numpy default) and reports the IQR', () => {
    const s = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s).toEqual({ median: 5, q1: 3, q3: 7, min: 1, max: 9, repeats: 9 });
    expect(iqr(s)).toBe(4);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
  });

  it('rejects empty or non-finite input', () => {
    expect(() => summarize([])).toThrow(/empty/);
    expect(() => median([1, NaN])).toThrow(/finite/);
  });

  it('forms throughput ratios: equal work is baseline time over subject time', () => {
    expect(throughputRatio(1, 4)).toBe(0.25);
    // 10 units in 2 s vs 100 units in 1 s: the subject is 20 × faster per unit.
    expect(throughputRatio(1, 2, 100, 10)).toBeCloseTo(0.05);
    expect(() => throughputRatio(0, 1)).toThrow(/positive/);
  });

  it('gives a 95 % t interval of a mean (t = 4.303 for 3 values)', () => {
    const ci = meanInterval95([0.8, 0.82, 0.84]);
    expect(ci.mean).toBeCloseTo(0.82);
    expect(ci.sd).toBeCloseTo(0.02);
    expect(ci.high - ci.mean).toBeCloseTo((4.303 * 0.02) / Math.sqrt(3));
    expect(meanInterval95([0.7])).toMatchObject({ low: 0.7, high: 0.7, n: 1 });
  });

  it('times a baseline and a subject side by side and reports the ratio of their medians', async () => {
    const busy = (ms: number) => () => {
      const end = process.hrtime.bigint() + BigInt(ms * 1e6);
      while (process.hrtime.bigint() < end);
    };
    const pair = await measureSideBySide(busy(1), busy(4), { warmup: 1, repeats: 5, minWarmupSeconds: 0 });
    expect(pair.baseline.repeats).toBe(5);
    expect(pair.subject.repeats).toBe(5);
    expect(pair.ratio).toBeCloseTo(pair.baseline.median / pair.subject.median);
    // 1 ms vs 4 ms of busy work: 0.25 on a quiet machine; loose bounds because CI machines are shared.
    expect(pair.ratio).toBeGreaterThan(0.05);
    expect(pair.ratio).toBeLessThan(0.8);
  });
});
