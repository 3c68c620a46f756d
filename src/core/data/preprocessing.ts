import { z } from 'zod';
import { PreprocessingError } from './errors';
import { computeFeatureStatistics, type FeatureStatistics } from './feature-statistics';
import { referenceMoments, REFERENCE_SOURCE } from './reference-statistics';
import {
  applyTransform,
  CARE_UNITS,
  FEATURE_TRANSFORMS,
  MISSINGNESS_INDICATOR_FEATURES,
  NUMERIC_FEATURES,
  type CareUnit,
  type CohortRecord,
  type FeatureTransform,
  type NumericFeature,
} from './features';

/**
 * One global preprocessor applied identically at every hospital and at prediction time. A federated
 * run builds it from public reference values (referencePreprocessor; no hospital's records enter
 * it, so it costs no privacy budget); simulations that pool records on purpose (the central
 * baseline) may fit it on training rows (fitPreprocessor), never on test rows.
 */

export interface NumericColumn {
  name: string;
  transform: FeatureTransform;
  /** Value imputed for a missing entry, on the transformed scale (the training mean, hence 0 after standardising). */
  imputation: number;
  /** Mean and standard deviation of the transformed present values in the training rows. */
  mean: number;
  std: number;
}

export interface Preprocessor {
  version: 1;
  /** Output column order of the design matrix. */
  featureNames: string[];
  numeric: NumericColumn[];
  /** Features that also get a 0/1 '<name>_missing' column (§5.3: their missingness carries signal). */
  missingnessIndicators: string[];
  /** One-hot first_careunit columns, in this order. */
  careUnits: CareUnit[];
  /** Standardised values are clipped to ±clipZ so one absurd entry cannot dominate a gradient. */
  clipZ: number;
  /** Where the centres and spreads come from (provenance, for people). */
  source: string;
}

const CLIP_Z = 6;
/** Below this spread a column is treated as constant (scale 1) rather than divided by ~0. */
const MIN_STD = 1e-8;

const FeatureTransformSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('identity') }),
  z.object({ kind: z.literal('log'), floor: z.number().positive() }),
]);

const NumericColumnSchema = z.object({
  name: z.string().min(1),
  transform: FeatureTransformSchema,
  imputation: z.number(),
  mean: z.number(),
  std: z.number().positive(),
});

export const PreprocessorSchema: z.ZodType<Preprocessor> = z
  .object({
    version: z.literal(1),
    featureNames: z.array(z.string()),
    numeric: z.array(NumericColumnSchema),
    missingnessIndicators: z.array(z.string()),
    careUnits: z.array(z.enum(CARE_UNITS)),
    clipZ: z.number().positive(),
    source: z.string().min(1),
  })
  .superRefine((p, ctx) => {
    const expected = outputColumns(p);
    if (expected.length !== p.featureNames.length || expected.some((name, i) => name !== p.featureNames[i])) {
      ctx.addIssue({
        code: 'custom',
        path: ['featureNames'],
        message: `featureNames must be [${expected.join(', ')}] (numeric, missingness indicators, care units)`,
      });
    }
    const numericNames = new Set(p.numeric.map((c) => c.name));
    for (const name of p.missingnessIndicators) {
      if (!numericNames.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['missingnessIndicators'],
          message: `'${name}' is not a numeric column`,
        });
      }
    }
  });

/** The one-hot column of a care unit, e.g. 'first_careunit_micu_sicu'. */
export function careUnitColumn(unit: CareUnit): string {
  return `first_careunit_${unit.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
}

function outputColumns(p: Pick<Preprocessor, 'numeric' | 'missingnessIndicators' | 'careUnits'>): string[] {
  return [
    ...p.numeric.map((c) => c.name),
    ...p.missingnessIndicators.map((name) => `${name}_missing`),
    ...p.careUnits.map(careUnitColumn),
  ];
}

/** The federated runs' preprocessor: public reference centres and spreads (reference-statistics.ts). */
export function referencePreprocessor(): Preprocessor {
  const numeric = referenceMoments().map(({ name, mean, std }): NumericColumn => ({
    name,
    transform: { ...FEATURE_TRANSFORMS[name as NumericFeature] },
    imputation: mean,
    mean,
    std: std > MIN_STD ? std : 1,
  }));
  return assemble(numeric, REFERENCE_SOURCE);
}

function assemble(numeric: NumericColumn[], source: string): Preprocessor {
  const base = {
    numeric,
    missingnessIndicators: [...MISSINGNESS_INDICATOR_FEATURES],
    careUnits: [...CARE_UNITS],
  };
  return { version: 1, featureNames: outputColumns(base), ...base, clipZ: CLIP_Z, source };
}

export function preprocessorFromStatistics(stats: FeatureStatistics): Preprocessor {
  if (stats.rows <= 0) throw new PreprocessingError('cannot build a preprocessor from zero training rows');
  const names = stats.features.map((f) => f.name);
  if (names.length !== NUMERIC_FEATURES.length || names.some((name, i) => name !== NUMERIC_FEATURES[i])) {
    throw new PreprocessingError(
      `feature statistics cover [${names.join(', ')}], expected [${NUMERIC_FEATURES.join(', ')}]`,
    );
  }
  const numeric = stats.features.map((f): NumericColumn => {
    // Population moments, so the fitting data standardise to exactly mean 0 and variance 1.
    const mean = f.count > 0 ? f.sum / f.count : 0;
    const variance = f.count > 0 ? Math.max(0, f.sumOfSquares / f.count - mean * mean) : 0;
    const std = Math.sqrt(variance);
    return {
      name: f.name,
      transform: { ...f.transform },
      imputation: mean,
      mean,
      std: Number.isFinite(std) && std > MIN_STD ? std : 1,
    };
  });
  return assemble(numeric, `fitted on ${stats.rows} pooled training rows (simulation only)`);
}

export function fitPreprocessor(records: readonly CohortRecord[]): Preprocessor {
  return preprocessorFromStatistics(computeFeatureStatistics(records));
}

export interface DesignMatrix {
  /** Row-major rows × cols. */
  features: Float32Array;
  /** 0/1 outcome per row (0 for prediction inputs read without a label). */
  labels: Float32Array;
  rows: number;
  cols: number;
  featureNames: string[];
  stayIds: string[];
}

/**
 * Standardise (after the log transform where declared), impute missing with the training mean
 * (0 after standardising), clip to ±clipZ, add missingness indicators and one-hot care units.
 * Never emits NaN: non-finite inputs are treated as missing.
 */
export function transformRecords(p: Preprocessor, records: readonly CohortRecord[]): DesignMatrix {
  const expected = outputColumns(p);
  if (expected.length !== p.featureNames.length || expected.some((name, i) => name !== p.featureNames[i])) {
    throw new PreprocessingError(
      'preprocessor featureNames do not match its columns; validate it with PreprocessorSchema',
    );
  }
  const rows = records.length;
  const cols = p.featureNames.length;
  const features = new Float32Array(rows * cols);
  const labels = new Float32Array(rows);
  const stayIds: string[] = new Array<string>(rows);
  const indicatorStart = p.numeric.length;
  const unitStart = indicatorStart + p.missingnessIndicators.length;
  const unitIndex = new Map<string, number>(p.careUnits.map((unit, k) => [unit, k]));
  const clip = p.clipZ;

  records.forEach((record, r) => {
    const offset = r * cols;
    p.numeric.forEach((column, j) => {
      const value = record.features[column.name];
      const present = value !== null && value !== undefined && Number.isFinite(value);
      const t = present ? applyTransform(column.transform, value) : column.imputation;
      const z = (t - column.mean) / column.std;
      features[offset + j] = z > clip ? clip : z < -clip ? -clip : z;
    });
    p.missingnessIndicators.forEach((name, k) => {
      const value = record.features[name];
      features[offset + indicatorStart + k] =
        value === null || value === undefined || !Number.isFinite(value) ? 1 : 0;
    });
    const k = unitIndex.get(record.first_careunit);
    if (k !== undefined) features[offset + unitStart + k] = 1;
    labels[r] = record.label_inhospital_mortality === 1 ? 1 : 0;
    stayIds[r] = record.stay_id;
  });
  return { features, labels, rows, cols, featureNames: [...p.featureNames], stayIds };
}
