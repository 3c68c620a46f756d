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

/** Every warehouse table (BigQuery dataset `himas_agents` in the cloud). */
export const WAREHOUSE_TABLES = [PRIVACY_AUDIT_TABLE, RUN_PROGRESS_TABLE] as const;
