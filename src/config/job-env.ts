import { z } from 'zod';
import { HospitalIdSchema, RunIdSchema } from '../../schemas/events';

/**
 * The environment of one hospital job execution: Cloud Run's own variables plus the overrides the
 * workflow (or the local job runner) passes. Read once, here, and validated.
 */
export const JobEnvSchema = z.object({
  HIMAS_JOB_MODE: z.enum(['stats', 'train', 'reveal', 'evaluate']).default('train'),
  HIMAS_RUN_ID: RunIdSchema,
  HIMAS_HOSPITAL_ID: HospitalIdSchema,
  HIMAS_ROUND: z.coerce.number().int().min(1).optional(),
  HIMAS_MODEL_VERSION: z.string().min(1).optional(),
  CLOUD_RUN_TASK_INDEX: z.coerce.number().int().min(0).default(0),
  CLOUD_RUN_TASK_ATTEMPT: z.coerce.number().int().min(0).default(0),
});

export type JobEnv = {
  /** reveal: a survivor of a masked round reveals, per participant, its self-mask share or its share (or pair seed) for a dropout. */
  mode: 'stats' | 'train' | 'reveal' | 'evaluate';
  runId: string;
  hospitalId: string;
  round?: number;
  modelVersionId?: string;
  taskAttempt: number;
};

export function readJobEnv(env: NodeJS.ProcessEnv): JobEnv {
  const parsed = JobEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `job environment: ${issue.path.join('.')} ${issue.message} (got ${JSON.stringify(env[String(issue.path[0])])})`,
    );
  }
  const e = parsed.data;
  if ((e.HIMAS_JOB_MODE === 'train' || e.HIMAS_JOB_MODE === 'reveal') && e.HIMAS_ROUND === undefined)
    throw new Error(`job environment: HIMAS_ROUND is required in ${e.HIMAS_JOB_MODE} mode`);
  if (e.HIMAS_JOB_MODE === 'evaluate' && !e.HIMAS_MODEL_VERSION)
    throw new Error('job environment: HIMAS_MODEL_VERSION is required in evaluate mode');
  return {
    mode: e.HIMAS_JOB_MODE,
    runId: e.HIMAS_RUN_ID,
    hospitalId: e.HIMAS_HOSPITAL_ID,
    round: e.HIMAS_ROUND,
    modelVersionId: e.HIMAS_MODEL_VERSION,
    taskAttempt: e.CLOUD_RUN_TASK_ATTEMPT,
  };
}

/** The inverse, for whoever starts a job. */
export function jobEnvVars(env: Omit<JobEnv, 'taskAttempt'>): Record<string, string> {
  const vars: Record<string, string> = {
    HIMAS_JOB_MODE: env.mode,
    HIMAS_RUN_ID: env.runId,
    HIMAS_HOSPITAL_ID: env.hospitalId,
  };
  if (env.round !== undefined) vars.HIMAS_ROUND = String(env.round);
  if (env.modelVersionId) vars.HIMAS_MODEL_VERSION = env.modelVersionId;
  return vars;
}
