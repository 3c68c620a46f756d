import { FEATURE_TRANSFORMS, NUMERIC_FEATURES, type NumericFeature } from './features';

/**
 * Published centre and spread of every numeric first-24 h feature in adult MIMIC-IV ICU stays, the
 * public reference HIMAS standardises with instead of statistics of any hospital's records (a
 * hospital's exact sums and counts let anyone difference two cohorts and read one patient's values;
 * ../shared/ARCHITECTURE.md §2). Nothing here depends on a hospital's data, so the preprocessor costs
 * no privacy budget and is the same at every hospital and at prediction time.
 *
 * Source: ../shared/reference/CLINICAL_DATA.md — §5.2 "overall median [IQR]" per feature (design
 * values [D] anchored to the [V]/[P] figures of §1.2 and §1.4: Sci Rep 2023 s41598-023-32160-z
 * Table 1, JMIR Med Inform 2024 PMC10985608 Table 5, mimic3-benchmarks variable_ranges.csv), age
 * from §1.2 (mean 64.7, SD 16.9 [V], mimic-code tableone.ipynb), sex from §1.2 (44.3 % female [V]),
 * gcs_unable from §5.2 ("~25–35 % in ICU" [D]).
 *
 * Centre = the median; spread = IQR / 1.349 (the SD of a normal with that IQR). For log-normal
 * labs (features.ts FEATURE_TRANSFORMS) both are taken on the log scale: ln(median) and
 * (ln Q3 − ln Q1) / 1.349.
 */
interface ReferenceValue {
  median: number;
  q1: number;
  q3: number;
}

const IQR_PER_SD = 1.349;

/** Binary features: centre p, spread √(p(1 − p)). */
const BINARY_SHARE: Partial<Record<NumericFeature, number>> = {
  is_male: 1 - 0.443,
  gcs_unable: 0.3,
};

const QUARTILES: Partial<Record<NumericFeature, ReferenceValue>> = {
  heart_rate_mean: { median: 85, q1: 76, q3: 96 },
  sbp_mean: { median: 117, q1: 106, q3: 129 },
  dbp_mean: { median: 61, q1: 54, q3: 68 },
  mbp_mean: { median: 77, q1: 71, q3: 84 },
  resp_rate_mean: { median: 19, q1: 16.8, q3: 22 },
  temperature_mean: { median: 36.9, q1: 36.6, q3: 37.2 },
  spo2_mean: { median: 97.3, q1: 96.0, q3: 98.6 },
  gcs_min: { median: 14, q1: 10, q3: 15 },
  creatinine_max: { median: 1.0, q1: 0.8, q3: 1.6 },
  bun_max: { median: 21, q1: 14, q3: 34 },
  sodium_max: { median: 140, q1: 137, q3: 142 },
  potassium_max: { median: 4.4, q1: 4.0, q3: 4.9 },
  bicarbonate_min: { median: 22, q1: 20, q3: 25 },
  glucose_max: { median: 150, q1: 120, q3: 195 },
  hemoglobin_min: { median: 10.3, q1: 8.8, q3: 12.0 },
  wbc_max: { median: 11.5, q1: 8.2, q3: 15.6 },
  platelets_min: { median: 185, q1: 130, q3: 245 },
  lactate_max: { median: 2.0, q1: 1.4, q3: 3.0 },
  bilirubin_total_max: { median: 0.7, q1: 0.4, q3: 1.3 },
  urineoutput: { median: 1650, q1: 1000, q3: 2450 },
};

/** Age: mean and SD of MIMIC-IV v2.0 ICU stays (§1.2 [V]). */
const AGE = { mean: 64.7, std: 16.9 };

export interface ReferenceMoments {
  name: string;
  /** Centre on the transformed scale (what a missing value is imputed with). */
  mean: number;
  /** Spread on the transformed scale. */
  std: number;
}

export const REFERENCE_SOURCE =
  'public reference: MIMIC-IV adult ICU stays, ../shared/reference/CLINICAL_DATA.md §1.2 and §5.2 (no hospital data)';

/** The reference centre and spread of every NUMERIC_FEATURES column, in that order. */
export function referenceMoments(): ReferenceMoments[] {
  return NUMERIC_FEATURES.map((name) => {
    const feature = name as NumericFeature;
    if (feature === 'age') return { name, ...AGE };
    const share = BINARY_SHARE[feature];
    if (share !== undefined) return { name, mean: share, std: Math.sqrt(share * (1 - share)) };
    const q = QUARTILES[feature];
    if (!q) throw new Error(`no public reference value for feature '${name}'`);
    const t = FEATURE_TRANSFORMS[feature].kind === 'log' ? Math.log : (x: number) => x;
    return { name, mean: t(q.median), std: (t(q.q3) - t(q.q1)) / IQR_PER_SD };
  });
}
