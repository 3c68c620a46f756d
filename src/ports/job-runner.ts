/**
 * Starts hospital training jobs. In the cloud a job is a Cloud Run job execution; locally it is a
 * child process (or an in-process call in tests) given the same environment variables Cloud Run
 * sets (`CLOUD_RUN_JOB`, `CLOUD_RUN_EXECUTION`, `CLOUD_RUN_TASK_INDEX`, `CLOUD_RUN_TASK_ATTEMPT`,
 * `CLOUD_RUN_TASK_COUNT`) plus the overrides the caller passes.
 */
export interface JobRequest {
  /** Cloud Run job name, for example `himas-train-h1`. */
  jobName: string;
  /** Environment overrides (HIMAS_RUN_ID, HIMAS_ROUND, HIMAS_HOSPITAL_ID, ...). */
  env: Record<string, string>;
  /** Attempts before the execution counts as failed (Cloud Run `max_retries` + 1). */
  maxAttempts?: number;
  timeoutSeconds?: number;
}

export interface JobResult {
  executionId: string;
  jobName: string;
  status: 'succeeded' | 'failed';
  attempts: number;
  /** The last error, when failed. */
  error?: string;
  durationSeconds: number;
}

export interface JobRunner {
  run(request: JobRequest): Promise<JobResult>;
}
