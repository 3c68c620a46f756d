import { dayToIsoDate, isoDateToDay } from '../data';
import { cusumAlarms, DEFAULT_CUSUM, type CusumOptions } from './cusum';
import type { WeeklyCounts } from './surveillance-counts';

export { L2_SENSITIVITY, SIGNALS, releaseWeeklyCounts, weeklyCounts } from './surveillance-counts';
export type { NoisyRelease, WeeklyCounts } from './surveillance-counts';

/**
 * The surveillance agent's detector (issue 7, agent 2): one-sided CUSUM (cusum.ts) on each
 * hospital's DP-noised weekly series of the monitored signals, and on the pooled series (the sum
 * over hospitals, hospitalId 'all'). Each alarm becomes a `surveillance.alert`.
 *
 * Measured (test/unit/core/agents/surveillance.test.ts, archetypes preset, 3 hospitals, 4,500
 * stays over 104 weeks, z = 1 so noise SD 2 per count, k = 1, h = 4, B = 26, G = 2, signal
 * sepsis_like): see src/core/agents/README.md for detection delay and false-alarm rate.
 */

export const DEFAULT_MONITORED_SIGNALS: readonly string[] = ['sepsis_like'];
export const POOLED_ID = 'all';

export interface SurveillanceAlert {
  hospitalId: string;
  signal: string;
  week: number;
  /** First day of the alarm week (ISO date). */
  weekStart: string;
  /** Estimated excess count over the run-up to the alarm (noisy). */
  size: number;
  message: string;
}

export interface DetectOptions {
  signals?: readonly string[];
  cusum?: Partial<CusumOptions>;
  /** Also monitor the sum over hospitals (noise SD grows by √hospitals). Default true. */
  pooled?: boolean;
}

export function detectOutbreaks(
  releases: readonly WeeklyCounts[],
  options: DetectOptions = {},
): SurveillanceAlert[] {
  const signals = options.signals ?? DEFAULT_MONITORED_SIGNALS;
  const cusum = { ...DEFAULT_CUSUM, ...options.cusum };
  const alerts: SurveillanceAlert[] = [];
  if (releases.length === 0) return alerts;
  const start = releases[0].periodStart;
  const weeks = Math.min(...releases.map((r) => r.counts.length));
  for (const signal of signals) {
    const column = releases[0].signals.indexOf(signal);
    if (column < 0) throw new RangeError(`unknown signal '${signal}'`);
    const series = releases.map((r) => ({
      hospitalId: r.hospitalId,
      values: r.counts.slice(0, weeks).map((row) => row[column]),
      noiseStd: cusum.noiseStd,
    }));
    if (options.pooled ?? true) {
      series.push({
        hospitalId: POOLED_ID,
        values: Array.from({ length: weeks }, (_, w) => series.reduce((sum, s) => sum + s.values[w], 0)),
        noiseStd: cusum.noiseStd * Math.sqrt(releases.length),
      });
    }
    for (const s of series) {
      for (const alarm of cusumAlarms(s.values, { ...cusum, noiseStd: s.noiseStd })) {
        const weekStart = dayToIsoDate(isoDateToDay(start) + 7 * alarm.week);
        alerts.push({
          hospitalId: s.hospitalId,
          signal,
          week: alarm.week,
          weekStart,
          size: alarm.excess,
          message: `${signal} at ${s.hospitalId} rose in the week of ${weekStart}: ${alarm.observed.toFixed(1)} vs ${alarm.expected.toFixed(1)} expected, about ${alarm.excess.toFixed(1)} excess (CUSUM ${alarm.statistic.toFixed(1)} > h = ${cusum.h}; counts carry DP noise)`,
        });
      }
    }
  }
  return alerts;
}
