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
 * Counts of predicted risk per class in fixed bins over [0, 1]. Hospitals share these aggregates
 * (never predictions of single stays) so pooled metrics can be computed without pooling records.
 */
export const RiskHistogramSchema = z
  .object({
    bins: z.number().int().min(2).max(100000),
    positives: z.array(z.number().int().min(0)),
    negatives: z.array(z.number().int().min(0)),
    /** Sums needed for pooled Brier score, O:E and loss. */
    sumRisk: z.number().min(0),
    sumSquaredError: z.number().min(0),
    sumLogLoss: z.number().min(0),
  })
  .refine((h) => h.positives.length === h.bins && h.negatives.length === h.bins, {
    message: 'positives and negatives must each have one count per bin',
  });
export type RiskHistogram = z.infer<typeof RiskHistogramSchema>;

/** What a hospital reports about a model version, evaluated on its own held-out test split. */
export const HospitalEvaluationSchema = z.object({
  hospitalId: z.string(),
  modelVersionId: z.string(),
  metrics: MetricsSchema,
  histogram: RiskHistogramSchema,
});
export type HospitalEvaluation = z.infer<typeof HospitalEvaluationSchema>;
