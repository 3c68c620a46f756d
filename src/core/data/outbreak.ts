import type { SeededRandom } from '../random/seeded-random';
import { CARE_UNITS, type CareUnit, type CohortRecord } from './features';
import { categorical } from './sampling';
import { drawLatentStay, type LatentStay, realiseFeatures, type SiteContext } from './stay-model';

/**
 * The sepsis-like syndrome surveillance counts (issue 7): first-24 h lactate > 2 mmol/L with
 * hypotension, mean blood pressure < 65 mmHg (the Sepsis-3 septic-shock thresholds, Singer et al.,
 * JAMA 2016, with MAP in place of the vasopressor requirement). Missing values do not count.
 */
export const SYNDROME_LACTATE_ABOVE = 2;
export const SYNDROME_MBP_BELOW = 65;

export function hasSepsisLikeSyndrome(features: Readonly<Record<string, number | null>>): boolean {
  const lactate = features.lactate_max;
  const mbp = features.mbp_mean;
  return (
    lactate !== null &&
    lactate !== undefined &&
    mbp !== null &&
    mbp !== undefined &&
    lactate > SYNDROME_LACTATE_ABOVE &&
    mbp < SYNDROME_MBP_BELOW
  );
}

/** An injected outbreak: extra syndrome stays at one hospital over some weeks. */
export interface OutbreakOptions {
  hospitalId: string;
  /** First outbreak week, counted from the admission period's start (week 0). */
  startWeek: number;
  /** Number of outbreak weeks. */
  weeks: number;
  /** Mean number of extra syndrome stays per outbreak week (Poisson). */
  extraRate: number;
}

/** Outbreak stays are sicker than the hospital's case mix (sepsis). */
const OUTBREAK_SEVERITY_SHIFT = 1.0;
const MAX_REJECTIONS = 100_000;

/** Poisson(mean) by inversion of the CDF (small means only, as here). */
export function poisson(random: SeededRandom, mean: number): number {
  const u = random.nextDouble();
  let k = 0;
  let p = Math.exp(-mean);
  let cumulative = p;
  while (u > cumulative && k < 10_000) {
    k++;
    p *= mean / k;
    cumulative += p;
  }
  return k;
}

export interface OutbreakStay {
  unit: CareUnit;
  latent: LatentStay;
  features: CohortRecord['features'];
}

/**
 * One outbreak stay: a stay of the hospital's unit mix with severity raised, drawn until its
 * observed features show the syndrome (rejection sampling keeps the feature model's joint law).
 */
export function drawOutbreakStay(
  random: SeededRandom,
  unitMix: readonly number[],
  site: SiteContext,
): OutbreakStay {
  const sicker: SiteContext = { ...site, severityShift: site.severityShift + OUTBREAK_SEVERITY_SHIFT };
  for (let attempt = 0; attempt < MAX_REJECTIONS; attempt++) {
    const unit = CARE_UNITS[categorical(random, unitMix)];
    const latent = drawLatentStay(random, unit, sicker);
    const features = realiseFeatures(random, latent, sicker);
    if (hasSepsisLikeSyndrome(features)) return { unit, latent, features };
  }
  throw new Error('could not draw an outbreak stay with the sepsis-like syndrome');
}
