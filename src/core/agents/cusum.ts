/**
 * One-sided CUSUM on standardised weekly counts (Page 1954; the form used in public-health
 * surveillance, e.g. CDC EARS C-methods and Rossi et al. 1999):
 *
 *   x_t = (y_t − μ_t) / σ_t,    S_t = max(0, S_{t−1} + x_t − k),    alarm when S_t > h,
 *
 * with μ_t, σ_t the mean and SD of a rolling baseline of B weeks that ends G weeks before t (the
 * guard band keeps the start of an outbreak out of its own baseline). σ_t is floored at
 * sqrt(μ_t + noiseStd²), the SD a Poisson count plus the DP noise would have, so a short quiet
 * baseline does not make every case an alarm. After an alarm S resets to 0.
 *
 * Defaults (k = 1, h = 4, B = 26, G = 2) were chosen by the measurement in
 * test/unit/core/agents/surveillance.test.ts (numbers in src/core/agents/README.md).
 */
export interface CusumOptions {
  /** Reference value k in SDs (half the shift to detect fastest: k = 1 targets a 2-SD rise). */
  k: number;
  /** Decision threshold h. */
  h: number;
  baselineWeeks: number;
  guardWeeks: number;
  /** SD of the DP noise added to each count (0 for exact counts). */
  noiseStd: number;
}

export const DEFAULT_CUSUM: CusumOptions = { k: 1, h: 4, baselineWeeks: 26, guardWeeks: 2, noiseStd: 0 };

export interface CusumAlarm {
  week: number;
  /** CUSUM statistic at the alarm. */
  statistic: number;
  /** Estimated excess count since the statistic last left 0: Σ (y_t − μ_t). */
  excess: number;
  expected: number;
  observed: number;
}

export function cusumAlarms(series: readonly number[], options: CusumOptions = DEFAULT_CUSUM): CusumAlarm[] {
  const { k, h, baselineWeeks: B, guardWeeks: G, noiseStd } = options;
  const alarms: CusumAlarm[] = [];
  let s = 0;
  let excess = 0;
  for (let t = B + G; t < series.length; t++) {
    const baseline = series.slice(t - G - B, t - G);
    const mean = baseline.reduce((a, b) => a + b, 0) / B;
    const variance = baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / (B - 1);
    const sd = Math.max(Math.sqrt(variance), Math.sqrt(Math.max(mean, 0) + noiseStd * noiseStd), 1e-9);
    const next = s + (series[t] - mean) / sd - k;
    if (next <= 0) {
      s = 0;
      excess = 0;
      continue;
    }
    s = next;
    excess += series[t] - mean;
    if (s > h) {
      alarms.push({ week: t, statistic: s, excess, expected: mean, observed: series[t] });
      s = 0;
      excess = 0;
    }
  }
  return alarms;
}
