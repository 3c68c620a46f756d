/**
 * The cohort's column contract: identifiers, the first-24 h feature columns and the label.
 *
 * Column names are the SQL names of the extraction query (CLINICAL_DATA.md §2.5) so that a cohort
 * extracted from MIMIC-IV and a synthetic cohort are read by the same code.
 */

/** Short codes of `icustays.first_careunit` (CLINICAL_DATA.md §1.3); the three Neuro units are merged. */
export const CARE_UNITS = ['MICU', 'MICU/SICU', 'CVICU', 'SICU', 'TSICU', 'CCU', 'Neuro'] as const;
export type CareUnit = (typeof CARE_UNITS)[number];

/** The verbatim MIMIC-IV `first_careunit` strings behind each short code (§1.3). */
export const CARE_UNIT_MIMIC_NAMES: Readonly<Record<CareUnit, readonly string[]>> = {
  MICU: ['Medical Intensive Care Unit (MICU)'],
  'MICU/SICU': ['Medical/Surgical Intensive Care Unit (MICU/SICU)'],
  CVICU: ['Cardiac Vascular Intensive Care Unit (CVICU)'],
  SICU: ['Surgical Intensive Care Unit (SICU)'],
  TSICU: ['Trauma SICU (TSICU)'],
  CCU: ['Coronary Care Unit (CCU)'],
  Neuro: ['Neuro Intermediate', 'Neuro Surgical Intensive Care Unit (Neuro SICU)', 'Neuro Stepdown'],
};

const CARE_UNIT_BY_TEXT: ReadonlyMap<string, CareUnit> = new Map(
  CARE_UNITS.flatMap((unit) => [
    [unit.toLowerCase(), unit] as const,
    ...CARE_UNIT_MIMIC_NAMES[unit].map((name) => [name.toLowerCase(), unit] as const),
  ]),
);

/** A short code or a MIMIC-IV long name (case-insensitive) to its short code; undefined if unknown. */
export function parseCareUnit(text: string): CareUnit | undefined {
  return CARE_UNIT_BY_TEXT.get(text.trim().toLowerCase());
}

const NUMERIC_FEATURE_TUPLE = [
  'age',
  'is_male',
  'heart_rate_mean',
  'sbp_mean',
  'dbp_mean',
  'mbp_mean',
  'resp_rate_mean',
  'temperature_mean',
  'spo2_mean',
  'gcs_min',
  'gcs_unable',
  'creatinine_max',
  'bun_max',
  'sodium_max',
  'potassium_max',
  'bicarbonate_min',
  'glucose_max',
  'hemoglobin_min',
  'wbc_max',
  'platelets_min',
  'lactate_max',
  'bilirubin_total_max',
  'urineoutput',
] as const;
export type NumericFeature = (typeof NUMERIC_FEATURE_TUPLE)[number];

/**
 * The numeric first-24 h columns, in CSV and design-matrix order. `is_male` is gender as 0/1
 * (the extraction SQL's `gender` 'M'/'F' is accepted by the CSV reader instead).
 */
export const NUMERIC_FEATURES: readonly string[] = NUMERIC_FEATURE_TUPLE;

export const ID_COLUMN = 'stay_id';
export const LABEL_COLUMN = 'label_inhospital_mortality';
export const CARE_UNIT_COLUMN = 'first_careunit';

/** Features whose missingness carries signal (§5.3: always emit indicators for lactate and bilirubin). */
export const MISSINGNESS_INDICATOR_FEATURES: readonly string[] = ['lactate_max', 'bilirubin_total_max'];

/** One ICU stay: first-24 h features (null = not measured), the care unit and the outcome. */
export interface CohortRecord {
  stay_id: string;
  first_careunit: CareUnit;
  label_inhospital_mortality: 0 | 1;
  features: Record<string, number | null>;
  /** Admission date 'YYYY-MM-DD' (optional CSV column `admittime`; see encounters.ts). */
  admittime?: string;
  /** Day-1 vasopressors (optional CSV column `vasopressor_day1`; see encounters.ts). */
  vasopressor_day1?: 0 | 1;
}

/**
 * How a feature is transformed before standardising. Right-skewed labs and urine output are
 * log-normal (§5.2 "LN"), so their statistics are taken on ln(max(x, floor)); the floor keeps
 * zero or negative charted values (e.g. urine output with irrigant counted negative, §2.4) finite.
 */
export type FeatureTransform = { kind: 'identity' } | { kind: 'log'; floor: number };

export const FEATURE_TRANSFORMS: Readonly<Record<NumericFeature, FeatureTransform>> = {
  age: { kind: 'identity' },
  is_male: { kind: 'identity' },
  heart_rate_mean: { kind: 'identity' },
  sbp_mean: { kind: 'identity' },
  dbp_mean: { kind: 'identity' },
  mbp_mean: { kind: 'identity' },
  resp_rate_mean: { kind: 'identity' },
  temperature_mean: { kind: 'identity' },
  spo2_mean: { kind: 'identity' },
  gcs_min: { kind: 'identity' },
  gcs_unable: { kind: 'identity' },
  creatinine_max: { kind: 'log', floor: 0.1 },
  bun_max: { kind: 'log', floor: 1 },
  sodium_max: { kind: 'identity' },
  potassium_max: { kind: 'identity' },
  bicarbonate_min: { kind: 'identity' },
  glucose_max: { kind: 'log', floor: 10 },
  hemoglobin_min: { kind: 'identity' },
  wbc_max: { kind: 'log', floor: 0.1 },
  platelets_min: { kind: 'log', floor: 1 },
  lactate_max: { kind: 'log', floor: 0.1 },
  bilirubin_total_max: { kind: 'log', floor: 0.1 },
  urineoutput: { kind: 'log', floor: 10 },
};

/**
 * Bound on a transformed value. No clinical value in these units comes near it; it only keeps a
 * corrupt entry (say 1e308) from overflowing the sums of squares into Infinity and then NaN.
 */
const TRANSFORMED_LIMIT = 1e6;

/** Applies a feature transform to a present, finite raw value. */
export function applyTransform(transform: FeatureTransform, value: number): number {
  const t = transform.kind === 'log' ? Math.log(Math.max(value, transform.floor)) : value;
  return t > TRANSFORMED_LIMIT ? TRANSFORMED_LIMIT : t < -TRANSFORMED_LIMIT ? -TRANSFORMED_LIMIT : t;
}
