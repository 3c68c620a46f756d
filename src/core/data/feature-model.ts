import type { CareUnit, NumericFeature } from './features';

/**
 * Generative parameters of the synthetic cohort: CLINICAL_DATA.md §5.2 (marginals, direction,
 * loading λ on the latent severity) and §1.3 (care-unit mix, age, sex, mortality targets).
 */

/** Organ clusters of §5.2 "correlation hints": features of one organ share a factor besides s. */
export type OrganCluster = 'pressure' | 'renal' | 'perfusion' | 'respiratory' | 'liver' | 'neuro';
export const ORGAN_CLUSTERS: readonly OrganCluster[] = [
  'pressure',
  'renal',
  'perfusion',
  'respiratory',
  'liver',
  'neuro',
];

/** How a standardised latent z (higher = higher raw value) becomes a raw value. */
export type Marginal =
  /** median + IQR/1.349 · z (§5.1 step 3) */
  | { kind: 'normal'; median: number; q1: number; q3: number }
  /** exp(ln median + (ln q3 − ln q1)/1.349 · z) (§5.1 step 3) */
  | { kind: 'lognormal'; median: number; q1: number; q3: number }
  /** ordinal 3–15 through the quantiles of GCS_DISTRIBUTION */
  | { kind: 'gcs' };

export interface LatentFeatureModel {
  name: NumericFeature;
  marginal: Marginal;
  /** +1 if a higher value means sicker (§5.2 "dir"). */
  direction: 1 | -1;
  /** Loading λ on the latent severity s (§5.2). */
  loading: number;
  /** Signed loading on the organ factor (sign in raw-value direction). */
  organ?: { cluster: OrganCluster; loading: number };
  /** Plausible range (CLINICAL_DATA.md §1.4 D, mimic3-benchmarks valid ranges). */
  validRange: readonly [number, number];
  decimals: number;
  /**
   * SD of the per-hospital multiplicative calibration drift on the log scale (§5.1 step 1: 0.03);
   * 0 for bedside vitals, 0.01 for tightly regulated analytes, where 3 % would be several mmol/L of
   * sodium and no longer a calibration difference.
   */
  labDriftSd: number;
}

/**
 * The continuous and ordinal features with their §5.2 row. λ values are the reference's; the organ
 * loadings are chosen so that e.g. creatinine~BUN r ≈ 0.65 and SBP~MBP r ≈ 0.75 (§5.2 hints).
 */
export const LATENT_FEATURES: readonly LatentFeatureModel[] = [
  {
    name: 'heart_rate_mean',
    marginal: { kind: 'normal', median: 85, q1: 76, q3: 96 },
    direction: 1,
    loading: 0.39,
    organ: { cluster: 'perfusion', loading: 0.3 },
    validRange: [0, 300],
    decimals: 1,
    labDriftSd: 0,
  },
  {
    name: 'sbp_mean',
    marginal: { kind: 'normal', median: 117, q1: 106, q3: 129 },
    direction: -1,
    loading: 0.36,
    organ: { cluster: 'pressure', loading: 0.75 },
    validRange: [0, 375],
    decimals: 1,
    labDriftSd: 0,
  },
  {
    name: 'dbp_mean',
    marginal: { kind: 'normal', median: 61, q1: 54, q3: 68 },
    direction: -1,
    loading: 0.26,
    organ: { cluster: 'pressure', loading: 0.75 },
    validRange: [0, 375],
    decimals: 1,
    labDriftSd: 0,
  },
  {
    name: 'mbp_mean',
    marginal: { kind: 'normal', median: 77, q1: 71, q3: 84 },
    direction: -1,
    loading: 0.33,
    organ: { cluster: 'pressure', loading: 0.85 },
    validRange: [14, 330],
    decimals: 1,
    labDriftSd: 0,
  },
  {
    name: 'resp_rate_mean',
    marginal: { kind: 'normal', median: 19, q1: 16.8, q3: 22 },
    direction: 1,
    loading: 0.49,
    organ: { cluster: 'respiratory', loading: 0.45 },
    validRange: [0, 70],
    decimals: 1,
    labDriftSd: 0,
  },
  {
    name: 'temperature_mean',
    marginal: { kind: 'normal', median: 36.9, q1: 36.6, q3: 37.2 },
    direction: -1,
    loading: 0.13,
    validRange: [26, 45],
    decimals: 2,
    labDriftSd: 0,
  },
  {
    name: 'spo2_mean',
    marginal: { kind: 'normal', median: 97.3, q1: 96.0, q3: 98.6 },
    direction: -1,
    loading: 0.26,
    organ: { cluster: 'respiratory', loading: -0.45 },
    validRange: [50, 100],
    decimals: 1,
    labDriftSd: 0,
  },
  {
    name: 'gcs_min',
    marginal: { kind: 'gcs' },
    direction: -1,
    loading: 0.72,
    organ: { cluster: 'neuro', loading: 0.3 },
    validRange: [3, 15],
    decimals: 0,
    labDriftSd: 0,
  },
  {
    name: 'creatinine_max',
    marginal: { kind: 'lognormal', median: 1.0, q1: 0.8, q3: 1.6 },
    direction: 1,
    loading: 0.52,
    organ: { cluster: 'renal', loading: 0.6 },
    validRange: [0.1, 60],
    decimals: 1,
    labDriftSd: 0.03,
  },
  {
    name: 'bun_max',
    marginal: { kind: 'lognormal', median: 21, q1: 14, q3: 34 },
    direction: 1,
    loading: 0.62,
    organ: { cluster: 'renal', loading: 0.55 },
    validRange: [1, 250],
    decimals: 0,
    labDriftSd: 0.03,
  },
  {
    name: 'sodium_max',
    marginal: { kind: 'normal', median: 140, q1: 137, q3: 142 },
    direction: 1,
    loading: 0.13,
    validRange: [50, 225],
    decimals: 0,
    labDriftSd: 0.01,
  },
  {
    name: 'potassium_max',
    marginal: { kind: 'normal', median: 4.4, q1: 4.0, q3: 4.9 },
    direction: 1,
    loading: 0.23,
    organ: { cluster: 'renal', loading: 0.25 },
    validRange: [1, 12],
    decimals: 1,
    labDriftSd: 0.01,
  },
  {
    name: 'bicarbonate_min',
    marginal: { kind: 'normal', median: 22, q1: 20, q3: 25 },
    direction: -1,
    loading: 0.55,
    organ: { cluster: 'perfusion', loading: -0.45 },
    validRange: [2, 60],
    decimals: 0,
    labDriftSd: 0.01,
  },
  {
    name: 'glucose_max',
    marginal: { kind: 'lognormal', median: 150, q1: 120, q3: 195 },
    direction: 1,
    loading: 0.23,
    validRange: [33, 2000],
    decimals: 0,
    labDriftSd: 0.03,
  },
  {
    name: 'hemoglobin_min',
    marginal: { kind: 'normal', median: 10.3, q1: 8.8, q3: 12.0 },
    direction: -1,
    loading: 0.23,
    validRange: [3, 25],
    decimals: 1,
    labDriftSd: 0.01,
  },
  {
    name: 'wbc_max',
    marginal: { kind: 'lognormal', median: 11.5, q1: 8.2, q3: 15.6 },
    direction: 1,
    loading: 0.33,
    validRange: [0.1, 1000],
    decimals: 1,
    labDriftSd: 0.03,
  },
  {
    name: 'platelets_min',
    marginal: { kind: 'lognormal', median: 185, q1: 130, q3: 245 },
    direction: -1,
    loading: 0.23,
    organ: { cluster: 'liver', loading: -0.35 },
    validRange: [5, 2000],
    decimals: 0,
    labDriftSd: 0.03,
  },
  {
    name: 'lactate_max',
    marginal: { kind: 'lognormal', median: 2.0, q1: 1.4, q3: 3.0 },
    direction: 1,
    loading: 0.65,
    organ: { cluster: 'perfusion', loading: 0.45 },
    validRange: [0.4, 30],
    decimals: 1,
    labDriftSd: 0.03,
  },
  {
    name: 'bilirubin_total_max',
    marginal: { kind: 'lognormal', median: 0.7, q1: 0.4, q3: 1.3 },
    direction: 1,
    loading: 0.33,
    organ: { cluster: 'liver', loading: 0.45 },
    validRange: [0.1, 60],
    decimals: 1,
    labDriftSd: 0.03,
  },
  {
    name: 'urineoutput',
    marginal: { kind: 'lognormal', median: 1650, q1: 1000, q3: 2450 },
    direction: -1,
    loading: 0.62,
    organ: { cluster: 'renal', loading: -0.35 },
    validRange: [0, 15000],
    decimals: 0,
    labDriftSd: 0,
  },
];

/**
 * Distribution of the latent first-day GCS minimum (scores 3..15) before the intubation convention
 * of §2.4 sets some ventilated stays to 15: afterwards about 47 % of stays score 15 (about 55 % of
 * survivors), median 14, IQR about [11, 15] (§5.2: 14 [10, 15]), with a floor mass at 3 for deeply
 * comatose or sedated stays.
 */
export const GCS_DISTRIBUTION: readonly { score: number; p: number }[] = [
  { score: 3, p: 0.04 },
  { score: 4, p: 0.015 },
  { score: 5, p: 0.015 },
  { score: 6, p: 0.02 },
  { score: 7, p: 0.03 },
  { score: 8, p: 0.03 },
  { score: 9, p: 0.03 },
  { score: 10, p: 0.05 },
  { score: 11, p: 0.05 },
  { score: 12, p: 0.08 },
  { score: 13, p: 0.1 },
  { score: 14, p: 0.14 },
  { score: 15, p: 0.4 },
];

/** Per care unit (§1.3): share of ICU stays, in-hospital mortality target, age, sex, severity shift. */
export interface CareUnitProfile {
  /** Share of all ICU stays ([D] values of §1.3, MIMIC-IV). */
  share: number;
  /** Pooled in-hospital mortality the unit offsets are solved for (§1.3, MIMIC-III Table 1 where sourced). */
  mortality: number;
  /** Median age (§1.3 Table 1). */
  ageMedianYears: number;
  maleShare: number;
  /** Mean of the latent severity in this unit (e.g. elective cardiac surgery is less severe). */
  severityShift: number;
  /** Unit-specific shifts of single features' latent z (covariate shift between units, §1.3 text). */
  featureShifts: Partial<Record<NumericFeature, number>>;
}

export const CARE_UNIT_PROFILES: Readonly<Record<CareUnit, CareUnitProfile>> = {
  MICU: {
    share: 0.21,
    mortality: 0.145,
    ageMedianYears: 64.9,
    maleShare: 0.516,
    severityShift: 0.2,
    featureShifts: { wbc_max: 0.2 },
  },
  'MICU/SICU': {
    share: 0.17,
    mortality: 0.125,
    ageMedianYears: 64.5,
    maleShare: 0.54,
    severityShift: 0.1,
    featureShifts: {},
  },
  CVICU: {
    share: 0.17,
    mortality: 0.046,
    ageMedianYears: 67.6,
    maleShare: 0.655,
    severityShift: -0.5,
    // Post-bypass haemodilution and cooling; many stays arrive ventilated after surgery.
    featureShifts: { hemoglobin_min: -0.6, platelets_min: -0.3, temperature_mean: -0.2, gcs_unable: 1.0 },
  },
  SICU: {
    share: 0.15,
    mortality: 0.126,
    ageMedianYears: 63.6,
    maleShare: 0.524,
    severityShift: 0,
    featureShifts: {},
  },
  TSICU: {
    share: 0.12,
    mortality: 0.114,
    ageMedianYears: 59.9,
    maleShare: 0.607,
    severityShift: -0.1,
    featureShifts: { hemoglobin_min: -0.3, gcs_min: -0.3, gcs_unable: 0.3 },
  },
  CCU: {
    share: 0.11,
    mortality: 0.113,
    ageMedianYears: 70.1,
    maleShare: 0.579,
    severityShift: 0.05,
    featureShifts: { creatinine_max: 0.15 },
  },
  Neuro: {
    share: 0.07,
    mortality: 0.12,
    ageMedianYears: 62,
    maleShare: 0.52,
    severityShift: 0,
    // Low GCS from the primary brain injury, not only from systemic severity; hypertension is managed.
    featureShifts: { gcs_min: -0.8, sbp_mean: 0.4, gcs_unable: 0.3 },
  },
};

/** Age distribution: N(unit median + hospital shift, 16) clipped to [18, 91] (§5.1 step 2; >89 is coded 91, §1.1). */
export const AGE_SD_YEARS = 16;
export const AGE_RANGE_YEARS: readonly [number, number] = [18, 91];
