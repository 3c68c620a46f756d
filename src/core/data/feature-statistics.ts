import { z } from 'zod';
import { PreprocessingError } from './errors';
import {
  applyTransform,
  FEATURE_TRANSFORMS,
  NUMERIC_FEATURES,
  type CohortRecord,
  type FeatureTransform,
  type NumericFeature,
} from './features';

/**
 * Federated sufficient statistics for leak-free preprocessing: each hospital summarises ITS OWN
 * training rows, only these aggregates leave the hospital, and sums merge exactly, so the merged
 * statistics equal those of the pooled training rows without pooling a single row.
 */
export interface FeatureMoments {
  name: string;
  /** The transform the moments are taken under (log for right-skewed labs). */
  transform: FeatureTransform;
  /** Rows where the feature is present. */
  count: number;
  /** Rows where the feature is missing (null). */
  missing: number;
  /** Σ t(x) over present values. */
  sum: number;
  /** Σ t(x)² over present values. */
  sumOfSquares: number;
}

export interface FeatureStatistics {
  version: 1;
  /** Total rows summarised. */
  rows: number;
  /** One entry per NUMERIC_FEATURES column, in that order. */
  features: FeatureMoments[];
}

/** Validates statistics received from a hospital before they are merged. */
export const FeatureStatisticsSchema: z.ZodType<FeatureStatistics> = z.object({
  version: z.literal(1),
  rows: z.number().int().nonnegative(),
  features: z.array(
    z.object({
      name: z.string().min(1),
      transform: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('identity') }),
        z.object({ kind: z.literal('log'), floor: z.number().positive() }),
      ]),
      count: z.number().int().nonnegative(),
      missing: z.number().int().nonnegative(),
      sum: z.number(),
      sumOfSquares: z.number().nonnegative(),
    }),
  ),
});

export function computeFeatureStatistics(records: readonly CohortRecord[]): FeatureStatistics {
  const features = NUMERIC_FEATURES.map((name): FeatureMoments => {
    const transform = FEATURE_TRANSFORMS[name as NumericFeature];
    let count = 0;
    let sum = 0;
    let sumOfSquares = 0;
    for (const record of records) {
      const value = record.features[name];
      if (value === null || value === undefined || !Number.isFinite(value)) continue;
      const t = applyTransform(transform, value);
      count++;
      sum += t;
      sumOfSquares += t * t;
    }
    return { name, transform, count, missing: records.length - count, sum, sumOfSquares };
  });
  return { version: 1, rows: records.length, features };
}

export function mergeFeatureStatistics(parts: readonly FeatureStatistics[]): FeatureStatistics {
  if (parts.length === 0) throw new PreprocessingError('cannot merge zero feature statistics');
  const [first, ...rest] = parts;
  const features = first.features.map((f) => ({ ...f, transform: { ...f.transform } }));
  let rows = first.rows;
  for (const part of rest) {
    assertSameLayout(first, part);
    rows += part.rows;
    part.features.forEach((f, j) => {
      features[j].count += f.count;
      features[j].missing += f.missing;
      features[j].sum += f.sum;
      features[j].sumOfSquares += f.sumOfSquares;
    });
  }
  return { version: 1, rows, features };
}

function assertSameLayout(a: FeatureStatistics, b: FeatureStatistics): void {
  const same =
    a.features.length === b.features.length &&
    a.features.every(
      (f, j) =>
        f.name === b.features[j].name &&
        f.transform.kind === b.features[j].transform.kind &&
        (f.transform.kind !== 'log' ||
          (b.features[j].transform.kind === 'log' && f.transform.floor === b.features[j].transform.floor)),
    );
  if (!same) {
    throw new PreprocessingError(
      `feature statistics have different features or transforms: [${a.features.map((f) => f.name).join(', ')}] vs [${b.features.map((f) => f.name).join(', ')}]`,
    );
  }
}
