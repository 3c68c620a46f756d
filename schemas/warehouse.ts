import { z } from 'zod';

/**
 * Warehouse tables (ARCHITECTURE.md section 3, the Warehouse port): what the agents write for
 * analysts. The zod row schema is the contract; `columns` gives each field its BigQuery type and
 * is checked against the row type at compile time, so the BigQuery table schemas generated from
 * these definitions cannot drift from the rows the code writes.
 */
export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP' | 'JSON';

export interface ColumnDefinition {
  type: ColumnType;
  /** BigQuery mode NULLABLE (true) or REQUIRED (false). */
  nullable: boolean;
}

export interface TableDefinition<Row extends Record<string, unknown>> {
  /** Table name: lower-case letters, digits and underscores. */
  name: string;
  description: string;
  columns: { [K in keyof Row & string]: ColumnDefinition };
  /** The columns that identify a row: inserting a row whose key exists changes nothing. */
  key: readonly (keyof Row & string)[];
  row: z.ZodType<Row>;
}

const isoTime = z.iso.datetime({ offset: true });
const required = (type: ColumnType): ColumnDefinition => ({ type, nullable: false });
const nullable = (type: ColumnType): ColumnDefinition => ({ type, nullable: true });

/** One privacy guardian check of one unit (hospital or patient) of one published model version. */
export const PrivacyAuditRowSchema = z.object({
  runId: z.string(),
  round: z.number().int().min(0),
  modelVersionId: z.string(),
  level: z.enum(['ok', 'warning', 'halt', 'critical']),
  unit: z.enum(['hospital', 'patient']),
  /** null = ∞ (no guarantee). */
  claimedEpsilon: z.number().nullable(),
  recomputedEpsilon: z.number().nullable(),
  budgetEpsilon: z.number().nullable(),
  findings: z.array(z.object({ level: z.string(), code: z.string(), message: z.string() })),
  time: isoTime,
});
export type PrivacyAuditRow = z.infer<typeof PrivacyAuditRowSchema>;

/** The orchestrator's view of a run when a model version was published. */
export const RunProgressRowSchema = z.object({
  runId: z.string(),
  round: z.number().int().min(0),
  modelVersionId: z.string(),
  /** Pooled metrics of the latest version the hospitals have evaluated (one version behind). */
  pooledAuroc: z.number().nullable(),
  pooledLoss: z.number().nullable(),
  perHospital: z.array(
    z.object({
      hospitalId: z.string(),
      /** The version these metrics are of. */
      modelVersionId: z.string().nullable(),
      auroc: z.number().nullable(),
      loss: z.number().nullable(),
      /** accepted | rejected | late | missing over its last rounds, oldest first. */
      recent: z.array(z.string()),
      flagged: z.boolean(),
    }),
  ),
  converged: z.boolean(),
  lateHospitals: z.array(z.string()),
  summary: z.string(),
  time: isoTime,
});
export type RunProgressRow = z.infer<typeof RunProgressRowSchema>;

export const PRIVACY_AUDIT_TABLE: TableDefinition<PrivacyAuditRow> = {
  name: 'privacy_audit',
  description: 'The privacy guardian: ε recomputed from the ledger against the claim, per version and unit',
  columns: {
    runId: required('STRING'),
    round: required('INT64'),
    modelVersionId: required('STRING'),
    level: required('STRING'),
    unit: required('STRING'),
    claimedEpsilon: nullable('FLOAT64'),
    recomputedEpsilon: nullable('FLOAT64'),
    budgetEpsilon: nullable('FLOAT64'),
    findings: required('JSON'),
    time: required('TIMESTAMP'),
  },
  key: ['runId', 'modelVersionId', 'unit'],
  row: PrivacyAuditRowSchema,
};

export const RUN_PROGRESS_TABLE: TableDefinition<RunProgressRow> = {
  name: 'run_progress',
  description: 'The orchestrator: pooled and per-hospital metrics, attendance and the convergence verdict',
  columns: {
    runId: required('STRING'),
    round: required('INT64'),
    modelVersionId: required('STRING'),
    pooledAuroc: nullable('FLOAT64'),
    pooledLoss: nullable('FLOAT64'),
    perHospital: required('JSON'),
    converged: required('BOOL'),
    lateHospitals: required('JSON'),
    summary: required('STRING'),
    time: required('TIMESTAMP'),
  },
  key: ['runId', 'modelVersionId'],
  row: RunProgressRowSchema,
};

/** One hospital's DP-noised weekly surveillance counts as the surveillance agent received them. */
export const SurveillanceReleaseRowSchema = z.object({
  runId: z.string(),
  hospitalId: z.string(),
  periodStart: z.string(),
  signals: z.array(z.string()),
  /** counts[week][signal], noisy. */
  counts: z.array(z.array(z.number())),
  noiseStd: z.number(),
  /** Stay-level ε of this release at `delta` (null = ∞). */
  epsilon: z.number().nullable(),
  delta: z.number(),
  eventId: z.string(),
  time: isoTime,
});
export type SurveillanceReleaseRow = z.infer<typeof SurveillanceReleaseRowSchema>;

/** One surveillance alert (also published as `surveillance.alert`). */
export const SurveillanceAlertRowSchema = z.object({
  runId: z.string(),
  /** A hospital or 'all' (the pooled series). */
  hospitalId: z.string(),
  signal: z.string(),
  week: z.number().int().min(0),
  weekStart: z.string(),
  size: z.number(),
  message: z.string(),
  eventId: z.string(),
  time: isoTime,
});
export type SurveillanceAlertRow = z.infer<typeof SurveillanceAlertRowSchema>;

/** One hospital's DP-noised stratified 2×2 treatment tables as the treatment agent received them. */
export const TreatmentTablesRowSchema = z.object({
  runId: z.string(),
  hospitalId: z.string(),
  stratumCuts: z.array(z.number()),
  tables: z.array(
    z.object({ stratum: z.number(), a: z.number(), b: z.number(), c: z.number(), d: z.number() }),
  ),
  noiseStd: z.number(),
  epsilon: z.number().nullable(),
  delta: z.number(),
  eventId: z.string(),
  time: isoTime,
});
export type TreatmentTablesRow = z.infer<typeof TreatmentTablesRowSchema>;

/** A severity-adjusted odds ratio of day-1 vasopressors on mortality: per hospital and pooled ('all'). */
export const TreatmentEstimateRowSchema = z.object({
  runId: z.string(),
  hospitalId: z.string(),
  scope: z.enum(['hospital', 'pooled']),
  /** Mantel–Haenszel log-OR with its 95 % CI (Robins–Breslow–Greenland); null when not estimable. */
  logOddsRatio: z.number().nullable(),
  standardError: z.number().nullable(),
  ciLow: z.number().nullable(),
  ciHigh: z.number().nullable(),
  /** Unadjusted log-OR (Woolf), to show what adjustment changed. */
  crudeLogOddsRatio: z.number().nullable(),
  /** Noisy totals of the tables used. */
  stays: z.number(),
  treated: z.number(),
  adjustment: z.string(),
  caveats: z.array(z.string()),
  summary: z.string(),
  time: isoTime,
});
export type TreatmentEstimateRow = z.infer<typeof TreatmentEstimateRowSchema>;

export const SURVEILLANCE_RELEASES_TABLE: TableDefinition<SurveillanceReleaseRow> = {
  name: 'surveillance_releases',
  description: "The surveillance agent: each hospital's DP-noised weekly counts (stay-level ε at δ)",
  columns: {
    runId: required('STRING'),
    hospitalId: required('STRING'),
    periodStart: required('STRING'),
    signals: required('JSON'),
    counts: required('JSON'),
    noiseStd: required('FLOAT64'),
    epsilon: nullable('FLOAT64'),
    delta: required('FLOAT64'),
    eventId: required('STRING'),
    time: required('TIMESTAMP'),
  },
  key: ['runId', 'hospitalId'],
  row: SurveillanceReleaseRowSchema,
};

export const SURVEILLANCE_ALERTS_TABLE: TableDefinition<SurveillanceAlertRow> = {
  name: 'surveillance_alerts',
  description:
    'The surveillance agent: CUSUM alarms on the pooled time series, one row per surveillance.alert',
  columns: {
    runId: required('STRING'),
    hospitalId: required('STRING'),
    signal: required('STRING'),
    week: required('INT64'),
    weekStart: required('STRING'),
    size: required('FLOAT64'),
    message: required('STRING'),
    eventId: required('STRING'),
    time: required('TIMESTAMP'),
  },
  key: ['runId', 'hospitalId', 'signal', 'week'],
  row: SurveillanceAlertRowSchema,
};

export const TREATMENT_TABLES_TABLE: TableDefinition<TreatmentTablesRow> = {
  name: 'treatment_tables',
  description: "The treatment agent: each hospital's DP-noised severity-stratified 2×2 tables",
  columns: {
    runId: required('STRING'),
    hospitalId: required('STRING'),
    stratumCuts: required('JSON'),
    tables: required('JSON'),
    noiseStd: required('FLOAT64'),
    epsilon: nullable('FLOAT64'),
    delta: required('FLOAT64'),
    eventId: required('STRING'),
    time: required('TIMESTAMP'),
  },
  key: ['runId', 'hospitalId'],
  row: TreatmentTablesRowSchema,
};

export const TREATMENT_ESTIMATES_TABLE: TableDefinition<TreatmentEstimateRow> = {
  name: 'treatment_estimates',
  description:
    'The treatment agent: severity-adjusted odds ratios with 95 % CIs per hospital and pooled, with caveats',
  columns: {
    runId: required('STRING'),
    hospitalId: required('STRING'),
    scope: required('STRING'),
    logOddsRatio: nullable('FLOAT64'),
    standardError: nullable('FLOAT64'),
    ciLow: nullable('FLOAT64'),
    ciHigh: nullable('FLOAT64'),
    crudeLogOddsRatio: nullable('FLOAT64'),
    stays: required('FLOAT64'),
    treated: required('FLOAT64'),
    adjustment: required('STRING'),
    caveats: required('JSON'),
    summary: required('STRING'),
    time: required('TIMESTAMP'),
  },
  key: ['runId', 'hospitalId'],
  row: TreatmentEstimateRowSchema,
};

/** Every warehouse table (BigQuery dataset `himas_agents` in the cloud). */
export const WAREHOUSE_TABLES = [
  PRIVACY_AUDIT_TABLE,
  RUN_PROGRESS_TABLE,
  SURVEILLANCE_RELEASES_TABLE,
  SURVEILLANCE_ALERTS_TABLE,
  TREATMENT_TABLES_TABLE,
  TREATMENT_ESTIMATES_TABLE,
] as const;
