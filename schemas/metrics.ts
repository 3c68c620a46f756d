import { z } from 'zod';

/** Discrimination and calibration of a model on one hospital's test split or pooled. */
export const MetricsSchema = z.object({
  n: z.number().int().min(0),
  positives: z.number().int().min(0),
  auroc: z.number().min(0).max(1).nullable(),
  auprc: z.number().min(0).max(1).nullable(),
  brier: z.number().min(0).max(1).nullable(),
  observedExpectedRatio: z.number().min(0).nullable(),
  calibrationSlope: z.number().nullable(),
  calibrationIntercept: z.number().nullable(),
  /** Mean binary cross-entropy. */
  loss: z.number().min(0).nullable(),
});
export type Metrics = z.infer<typeof MetricsSchema>;

/**
 * Per-class counts of predicted risk in public bins [cuts[b], cuts[b+1]) — as a hospital releases
 * them, with Gaussian noise of SD `noiseStd` on every count (0 only for exact counts that never leave
 * a hospital). Noisy counts are real numbers and may be negative.
 */
export const RiskHistogramSchema = z
  .object({
    cuts: z.array(z.number().min(0).max(1)).min(3),
    positives: z.array(z.number()),
    negatives: z.array(z.number()),
    noiseStd: z.number().min(0),
  })
  .refine((h) => h.positives.length === h.cuts.length - 1 && h.negatives.length === h.cuts.length - 1, {
    message: 'positives and negatives must each have one count per bin (cuts.length - 1)',
  })
  .refine(
    (h) => h.cuts[0] === 0 && h.cuts.at(-1) === 1 && h.cuts.every((c, i) => i === 0 || c > h.cuts[i - 1]),
    {
      message: 'cuts must rise strictly from 0 to 1',
    },
  );
export type RiskHistogram = z.infer<typeof RiskHistogramSchema>;

/** 95 % intervals of pooled metrics under the releases' DP noise (null when not computable). */
const Interval = z.tuple([z.number(), z.number()]).nullable();
export const MetricIntervalsSchema = z.object({
  auroc: Interval,
  auprc: Interval,
  brier: Interval,
  observedExpectedRatio: Interval,
  calibrationSlope: Interval,
  loss: Interval,
});
export type MetricIntervals = z.infer<typeof MetricIntervalsSchema>;

/**
 * What a hospital reports about a model version, evaluated on its own held-out test split: a noisy
 * risk histogram (a DP release charged to its ledger), nothing exact. `epsilon` is this release
 * alone at `delta`; the hospital's total is in its ledger.
 */
export const HospitalEvaluationSchema = z.object({
  hospitalId: z.string(),
  modelVersionId: z.string(),
  histogram: RiskHistogramSchema,
  privacy: z.object({
    unit: z.literal('patient'),
    noiseMultiplier: z.number().gt(0),
    l2Sensitivity: z.number().gt(0),
    epsilon: z.number().min(0),
    delta: z.number().gt(0).lt(1),
  }),
});
export type HospitalEvaluation = z.infer<typeof HospitalEvaluationSchema>;

/** Pooled metrics of a version from the hospitals' noisy releases, with the noise's intervals. */
export const PooledQualitySchema = z.object({
  metrics: MetricsSchema,
  intervals: MetricIntervalsSchema,
  hospitals: z.array(z.string()),
  /** SD of the DP noise on each pooled count. */
  noiseStd: z.number().min(0),
});
export type PooledQuality = z.infer<typeof PooledQualitySchema>;
