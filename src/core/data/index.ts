/** The cohort: feature set, synthetic generator, CSV I/O and leak-free federated preprocessing. */
export {
  CARE_UNITS,
  CARE_UNIT_COLUMN,
  CARE_UNIT_MIMIC_NAMES,
  FEATURE_TRANSFORMS,
  ID_COLUMN,
  LABEL_COLUMN,
  MISSINGNESS_INDICATOR_FEATURES,
  NUMERIC_FEATURES,
  applyTransform,
  parseCareUnit,
} from './features';
export type { CareUnit, CohortRecord, FeatureTransform, NumericFeature } from './features';
export { CohortFormatError, CohortOptionsError, PreprocessingError } from './errors';
export { MIN_STAYS_PER_HOSPITAL, generateCohort } from './cohort-generator';
export type { CohortTruth, GenerateCohortOptions, HospitalCohort, SyntheticCohort } from './cohort-generator';
export {
  ADMITTIME_COLUMN,
  VASOPRESSOR_COLUMN,
  admissionWeek,
  dayToIsoDate,
  isoDateToDay,
  withEncounters,
} from './encounters';
export type { EncounterRecord, StayEncounter } from './encounters';
export { SYNDROME_LACTATE_ABOVE, SYNDROME_MBP_BELOW, hasSepsisLikeSyndrome } from './outbreak';
export type { OutbreakOptions } from './outbreak';
export { DEFAULT_TREATMENT_LOG_ODDS_RATIO, VASOPRESSOR_MODEL } from './treatment-model';
export { PRESET_NAMES } from './presets';
export type { PresetName } from './presets';
export { COHORT_CSV_COLUMNS, cohortToCsv, parseCohortCsv } from './csv';
export type { ParseCohortCsvOptions } from './csv';
export {
  FeatureStatisticsSchema,
  computeFeatureStatistics,
  mergeFeatureStatistics,
} from './feature-statistics';
export type { FeatureMoments, FeatureStatistics } from './feature-statistics';
export {
  PreprocessorSchema,
  careUnitColumn,
  fitPreprocessor,
  preprocessorFromStatistics,
  referencePreprocessor,
  transformRecords,
} from './preprocessing';
export type { DesignMatrix, NumericColumn, Preprocessor } from './preprocessing';
export { REFERENCE_SOURCE, referenceMoments } from './reference-statistics';
