import type { SeededRandom } from '../random/seeded-random';
import { standardNormal } from '../random/seeded-random';
import {
  AGE_RANGE_YEARS,
  AGE_SD_YEARS,
  CARE_UNIT_PROFILES,
  GCS_DISTRIBUTION,
  LATENT_FEATURES,
  ORGAN_CLUSTERS,
  type LatentFeatureModel,
} from './feature-model';
import type { CareUnit, NumericFeature } from './features';
import { NUMERIC_FEATURES } from './features';
import { drawMissingFeatures, type SiteMeasurementPractice } from './missingness';
import { clamp, normalCdf, roundTo } from './sampling';

/**
 * One ICU stay of CLINICAL_DATA.md §5.1: a latent severity s drives every feature and the outcome,
 * so features are redundant views of one illness (independent per-class sampling gives AUROC 0.98).
 */

/** The hospital-level inputs a stay depends on (§5.1 step 1). */
export interface SiteContext {
  /** μ_h: case-mix severity shift added to every stay's s. */
  severityShift: number;
  /** q_h: residual quality offset on the outcome logit (SMR spread ~0.85–1.2). */
  qualityOffset: number;
  /** Added to the unit's median age (e.g. a trauma centre is younger). */
  ageShiftYears: number;
  /** b_hj: ln of the multiplicative calibration drift of each lab. */
  labDriftLog: Partial<Record<NumericFeature, number>>;
  practice: SiteMeasurementPractice;
}

export const REFERENCE_SITE: SiteContext = {
  severityShift: 0,
  qualityOffset: 0,
  ageShiftYears: 0,
  labDriftLog: {},
  practice: { testingIntensityLogit: 0, urineOutputInterfaceMissing: false },
};

/** Outcome model, §5.1 step 2 plus the step-5 realism extras. */
export const OUTCOME_MODEL = {
  intercept: -3.35,
  severity: 2.0,
  /** per (age − 65)/16 */
  age: 0.45,
  /** mild age × severity interaction (§5.1 step 5) */
  ageBySeverity: 0.15,
  /** direct effect of being unable to give a verbal GCS (intubated) */
  gcsUnable: 0.3,
  /** U-shaped risk: coefficient on (z² − 1) of the feature's latent z (both tails raise risk) */
  uShaped: { temperature_mean: 0.15, sodium_max: 0.12, glucose_max: 0.1 } as Partial<
    Record<NumericFeature, number>
  >,
};

/** gcs_unable (intubated, verbal score not assessable): latent loading and threshold for ~30 % overall (§5.2). */
const GCS_UNABLE_LOADING = 0.45;
const GCS_UNABLE_THRESHOLD = 0.75;
/** Intubated stays often chart total GCS as 15 by the severity-score convention (§2.4); this masks GCS. */
const GCS_ETT_CONVENTION_PROBABILITY = 0.4;

export interface LatentStay {
  unit: CareUnit;
  severity: number;
  ageYears: number;
  male: boolean;
  /** Latent z of each LATENT_FEATURES entry (higher = higher raw value). */
  z: Float64Array;
  gcsUnable: boolean;
}

const FEATURE_INDEX: ReadonlyMap<NumericFeature, number> = new Map(
  LATENT_FEATURES.map((f, i) => [f.name, i]),
);

/** Per-feature constants of the latent model, precomputed: the generator draws ~30 normals per stay. */
const LATENT_TABLE = LATENT_FEATURES.map((feature) => {
  const organLoading = feature.organ?.loading ?? 0;
  return {
    severityLoading: feature.direction * feature.loading,
    organIndex: feature.organ ? ORGAN_CLUSTERS.indexOf(feature.organ.cluster) : -1,
    organLoading,
    ownScale: Math.sqrt(1 - feature.loading ** 2 - organLoading ** 2),
  };
});
const UNIT_FEATURE_SHIFTS: Readonly<Record<CareUnit, Float64Array>> = Object.fromEntries(
  Object.entries(CARE_UNIT_PROFILES).map(([unit, profile]) => [
    unit,
    Float64Array.from(LATENT_FEATURES, (feature) => profile.featureShifts[feature.name] ?? 0),
  ]),
) as Record<CareUnit, Float64Array>;
const U_SHAPED = Object.entries(OUTCOME_MODEL.uShaped).map(([name, coefficient]) => ({
  index: FEATURE_INDEX.get(name as NumericFeature) ?? -1,
  coefficient: coefficient ?? 0,
}));

export function drawLatentStay(random: SeededRandom, unit: CareUnit, site: SiteContext): LatentStay {
  const profile = CARE_UNIT_PROFILES[unit];
  const ageYears = Math.round(
    clamp(
      profile.ageMedianYears + site.ageShiftYears + AGE_SD_YEARS * standardNormal(random),
      AGE_RANGE_YEARS[0],
      AGE_RANGE_YEARS[1],
    ),
  );
  const male = random.nextDouble() < profile.maleShare;
  const severity = profile.severityShift + site.severityShift + standardNormal(random);
  const organ = new Float64Array(ORGAN_CLUSTERS.length);
  for (let c = 0; c < organ.length; c++) organ[c] = standardNormal(random);
  const shifts = UNIT_FEATURE_SHIFTS[unit];
  const z = new Float64Array(LATENT_TABLE.length);
  for (let i = 0; i < LATENT_TABLE.length; i++) {
    const t = LATENT_TABLE[i];
    const organTerm = t.organIndex >= 0 ? t.organLoading * organ[t.organIndex] : 0;
    z[i] = shifts[i] + t.severityLoading * severity + organTerm + t.ownScale * standardNormal(random);
  }
  const unableLatent =
    (profile.featureShifts.gcs_unable ?? 0) +
    GCS_UNABLE_LOADING * severity +
    Math.sqrt(1 - GCS_UNABLE_LOADING ** 2) * standardNormal(random);
  return { unit, severity, ageYears, male, z, gcsUnable: unableLatent > GCS_UNABLE_THRESHOLD };
}

/** The outcome logit without the care-unit offset (which unit-offsets.ts solves for). */
export function outcomeLogitWithoutUnitOffset(stay: LatentStay, site: SiteContext): number {
  const age = (stay.ageYears - 65) / 16;
  let logit =
    OUTCOME_MODEL.intercept +
    OUTCOME_MODEL.severity * stay.severity +
    OUTCOME_MODEL.age * age +
    OUTCOME_MODEL.ageBySeverity * age * stay.severity +
    (stay.gcsUnable ? OUTCOME_MODEL.gcsUnable : 0) +
    site.qualityOffset;
  for (const { index, coefficient } of U_SHAPED) {
    const z = stay.z[index];
    logit += coefficient * (z * z - 1);
  }
  return logit;
}

/**
 * Observed features of a stay: latent z mapped to the §5.2 marginals, lab drift, §1.4 D clipping,
 * rounding as charted, then §5.3 missingness (null).
 */
export function realiseFeatures(
  random: SeededRandom,
  stay: LatentStay,
  site: SiteContext,
): Record<string, number | null> {
  const missing = drawMissingFeatures(random, stay.severity, site.practice);
  const ettConvention = random.nextDouble() < GCS_ETT_CONVENTION_PROBABILITY;
  const values: Record<string, number | null> = {};
  for (const name of NUMERIC_FEATURES) values[name] = null;
  values.age = stay.ageYears;
  values.is_male = stay.male ? 1 : 0;
  values.gcs_unable = stay.gcsUnable ? 1 : 0;
  LATENT_FEATURES.forEach((feature, i) => {
    values[feature.name] = observedValue(feature, stay.z[i], site.labDriftLog[feature.name] ?? 0);
  });
  if (stay.gcsUnable && ettConvention) values.gcs_min = 15;
  for (const name of missing) values[name] = null;
  return values;
}

function observedValue(feature: LatentFeatureModel, z: number, driftLog: number): number {
  const m = feature.marginal;
  let value: number;
  switch (m.kind) {
    case 'normal':
      value = m.median + ((m.q3 - m.q1) / 1.349) * z;
      break;
    case 'lognormal':
      value = Math.exp(Math.log(m.median) + ((Math.log(m.q3) - Math.log(m.q1)) / 1.349) * z);
      break;
    case 'gcs':
      value = gcsQuantile(normalCdf(z));
      break;
  }
  value *= Math.exp(driftLog);
  return roundTo(clamp(value, feature.validRange[0], feature.validRange[1]), feature.decimals);
}

function gcsQuantile(p: number): number {
  let cumulative = 0;
  for (const { score, p: mass } of GCS_DISTRIBUTION) {
    cumulative += mass;
    if (p < cumulative) return score;
  }
  return 15;
}
