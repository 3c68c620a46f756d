import { z } from 'zod';
import { MetricIntervalsSchema, MetricsSchema, RiskHistogramSchema } from './metrics';
import { HospitalPrivacySchema, PrivacyGuaranteeSchema } from './privacy';
import { TrainingConfigSchema } from './training-config';

/**
 * `RUN_DIR/report.json`: what a run did and how good its model is. `report.html` is rendered from
 * exactly this object, and `himas train --json` prints it.
 */
const ModelQualitySchema = z.object({
  pooled: MetricsSchema,
  perHospital: z.record(z.string(), MetricsSchema),
  /**
   * 95 % intervals of the pooled figures under the releases' DP noise; absent for exact
   * (simulation-only) scoring, which no deployment can compute.
   */
  intervals: MetricIntervalsSchema.nullable().default(null),
  /**
   * The DP-noised risk histograms the figures come from (the reliability diagrams of report.html):
   * each hospital's release and their pooled sum. Absent for exact scoring.
   */
  histograms: z
    .object({ pooled: RiskHistogramSchema, perHospital: z.record(z.string(), RiskHistogramSchema) })
    .optional(),
  /** 95 % intervals of each hospital's figures under its release's DP noise. Absent for exact scoring. */
  hospitalIntervals: z.record(z.string(), MetricIntervalsSchema).optional(),
});

export const RoundReportSchema = z.object({
  round: z.number().int().min(1),
  status: z.enum(['open', 'awaiting-seeds', 'aggregating', 'closed', 'failed']),
  seconds: z.number().min(0).nullable(),
  modelVersionId: z.string().nullable(),
  participants: z.array(z.string()),
  failureReason: z.string().nullable(),
  /** Per hospital: the last local epoch's training loss (only without DP-SGD) and the receipt's verdict. */
  hospitals: z.record(
    z.string(),
    z.object({
      trainLoss: z.number().nullable(),
      status: z.enum(['accepted', 'rejected']),
      reason: z.string().nullable(),
    }),
  ),
  /** Hospital-level ε after this round (null = ∞). */
  epsilon: z.number().nullable(),
});

/** Quality of a model version as its hospitals reported it on their own test splits. */
export const VersionQualitySchema = z.object({
  versionId: z.string(),
  round: z.number().int().min(0),
  quality: ModelQualitySchema.nullable(),
});

export const BaselineSchema = z.object({
  name: z.string(),
  description: z.string(),
  quality: ModelQualitySchema,
});

/**
 * What the run produced (src/core/agents/run-verdict.ts): only a `succeeded` run has a model to
 * serve, and only that model is the report's `finalModel`.
 */
export const RunOutcomeSchema = z.object({
  kind: z.enum(['succeeded', 'halted', 'failed', 'diverged', 'running']),
  /** One line: why the run ended this way. */
  reason: z.string(),
  /** The servable version presented as the run's model; null unless the run succeeded. */
  modelVersionId: z.string().nullable(),
  /** The last trained version when it is not served because it is worse than the initial model. */
  divergedVersionId: z.string().nullable(),
  /** The divergence check of the model against the initial one (null when no version was trained). */
  divergence: z.object({ diverged: z.boolean(), judged: z.boolean(), reason: z.string() }).nullable(),
});
export type RunOutcome = z.infer<typeof RunOutcomeSchema>;

export const TrainingReportSchema = z.object({
  runId: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'halted']),
  haltReason: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  wallSeconds: z.number().min(0).nullable(),
  backend: z.string(),
  config: TrainingConfigSchema,
  dataSource: z.object({ kind: z.string(), location: z.string() }),
  hospitals: z.array(
    z.object({
      hospitalId: z.string(),
      trainStays: z.number().int().nullable(),
      testStays: z.number().int().nullable(),
    }),
  ),
  rounds: z.array(RoundReportSchema),
  outcome: RunOutcomeSchema,
  /** v0 (initial) … final, each with the hospitals' evaluations. */
  versions: z.array(VersionQualitySchema),
  /** The servable model (outcome.modelVersionId); null when the run left none to serve. */
  finalModel: z
    .object({
      versionId: z.string(),
      quality: ModelQualitySchema.nullable(),
      directory: z.string().nullable(),
    })
    .nullable(),
  privacy: z.array(PrivacyGuaranteeSchema),
  /** Each hospital's patient-level totals (this run, lifetime) and per-mechanism share, from its ledger. */
  hospitalPrivacy: z.array(HospitalPrivacySchema).default([]),
  /** Simulation-only comparisons: they pool records, which a real deployment never does. */
  baselines: z.array(BaselineSchema),
  notes: z.array(z.string()),
});
export type TrainingReport = z.infer<typeof TrainingReportSchema>;
export type ModelQuality = z.infer<typeof ModelQualitySchema>;
