import { admissionWeek, CARE_UNITS, hasSepsisLikeSyndrome, type CohortRecord } from '../data';
import { gaussianEvent, type DpEvent } from '../privacy';
import type { SecureRandom } from '../random/random';

/**
 * Per-hospital weekly aggregate counts for disease surveillance (issue 7, agent 2), released with
 * the Gaussian mechanism. Signals per week: admissions per care unit, all admissions, in-hospital
 * deaths, and sepsis-like stays (lactate > 2 with MAP < 65, src/core/data/outbreak.ts).
 *
 * Sensitivity. A stay falls in exactly one week and adds 1 to its care unit's admissions, 1 to
 * all admissions, at most 1 to deaths and at most 1 to sepsis-like: adding or removing one stay
 * changes the released table (every week, every signal) by a vector with at most 4 entries of
 * magnitude 1, so its L2 sensitivity is Δ₂ = √4 = 2 (each count alone has sensitivity 1). Noise
 * N(0, (z·Δ₂)²) on every cell makes the release one Gaussian mechanism with noise multiplier z
 * (Dwork & Roth 2014, Thm A.1; dp_accounting GaussianDpEvent). The unit is the stay (a patient
 * with several stays in the period is protected up to that multiple). Each release is recorded
 * as gaussianEvent(z); releases covering disjoint weeks would compose in parallel, so adding them
 * up in the ledger is conservative.
 */

export const SIGNALS: readonly string[] = [
  ...CARE_UNITS.map((unit) => `admissions:${unit}`),
  'admissions',
  'deaths',
  'sepsis_like',
];
export const L2_SENSITIVITY = 2;

export interface WeeklyCounts {
  hospitalId: string;
  /** ISO date of week 0's first day. */
  periodStart: string;
  signals: readonly string[];
  /** counts[week][signal], in SIGNALS order; noisy counts are real numbers. */
  counts: number[][];
}

/** Exact weekly counts of a hospital's stays; stays without admittime or outside the period are skipped. */
export function weeklyCounts(
  hospitalId: string,
  records: readonly CohortRecord[],
  periodStart: string,
  weeks: number,
): WeeklyCounts & { skipped: number } {
  const counts = Array.from({ length: weeks }, () => new Array<number>(SIGNALS.length).fill(0));
  const index = new Map(SIGNALS.map((s, i) => [s, i]));
  let skipped = 0;
  for (const r of records) {
    const week = r.admittime === undefined ? -1 : admissionWeek(r.admittime, periodStart);
    if (week < 0 || week >= weeks) {
      skipped++;
      continue;
    }
    const row = counts[week];
    row[index.get(`admissions:${r.first_careunit}`)!]++;
    row[index.get('admissions')!]++;
    if (r.label_inhospital_mortality === 1) row[index.get('deaths')!]++;
    if (hasSepsisLikeSyndrome(r.features)) row[index.get('sepsis_like')!]++;
  }
  return { hospitalId, periodStart, signals: SIGNALS, counts, skipped };
}

export interface NoisyRelease {
  release: WeeklyCounts;
  /** Standard deviation of the noise on each count: z·Δ₂. */
  noiseStd: number;
  /** For the hospital's patient-level surveillance ledger. */
  event: DpEvent;
}

/** The Gaussian mechanism on the whole table (noise from the OS CSPRNG in production). */
export function releaseWeeklyCounts(
  exact: WeeklyCounts,
  noiseMultiplier: number,
  random: SecureRandom,
): NoisyRelease {
  if (!(noiseMultiplier > 0) || !Number.isFinite(noiseMultiplier))
    throw new RangeError(`noiseMultiplier must be > 0, got ${noiseMultiplier}`);
  if (random.secure !== true) throw new Error('surveillance noise needs a SecureRandom');
  const noiseStd = noiseMultiplier * L2_SENSITIVITY;
  const cells = exact.counts.length * exact.signals.length;
  const noise = new Float64Array(cells);
  random.fillStandardNormal(noise);
  let k = 0;
  const counts = exact.counts.map((row) => row.map((c) => c + noiseStd * noise[k++]));
  return {
    release: { hospitalId: exact.hospitalId, periodStart: exact.periodStart, signals: exact.signals, counts },
    noiseStd,
    event: gaussianEvent(noiseMultiplier),
  };
}
