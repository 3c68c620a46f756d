import { randomUUID } from 'node:crypto';
import { readOnlyDocuments } from '../../adapters/read-only-documents';
import { readJobEnv } from '../../config/job-env';
import type { JobRequest, JobResult, JobRunner } from '../../ports/job-runner';
import { runHospitalJob, type HospitalJobDeps } from '../../services/hospital-job';
import { JobSlots } from './job-slots';

/**
 * Jobs run at once in process. Measured at K = 100 on 2 cores (bench/round-anatomy.ts): enough
 * to keep storage waits overlapped, while peak memory no longer grows with K.
 */
export const DEFAULT_CONCURRENT_JOBS = 16;

/**
 * Runs a hospital job as a function call in this process: the fastest way for tests to exercise the
 * real job code. The CLI uses ChildProcessJobRunner, which isolates each job as Cloud Run would.
 */
export class InProcessJobRunner implements JobRunner {
  private readonly deps: HospitalJobDeps;
  private readonly slots: JobSlots;

  /**
   * The job sees shared state read only, even though this process holds the writable stores.
   * `maxConcurrentJobs` bounds how many jobs run at once (the rest wait their turn; see JobSlots).
   */
  constructor(deps: HospitalJobDeps, options: { maxConcurrentJobs?: number } = {}) {
    this.slots = new JobSlots(options.maxConcurrentJobs ?? DEFAULT_CONCURRENT_JOBS);
    this.deps = {
      ...deps,
      documents: readOnlyDocuments(deps.documents),
      models: { get: (id) => deps.models.get(id), load: (id) => deps.models.load(id) },
    };
  }

  run(request: JobRequest): Promise<JobResult> {
    return this.slots.run(() => this.runNow(request));
  }

  private async runNow(request: JobRequest): Promise<JobResult> {
    const started = Date.now();
    const maxAttempts = request.maxAttempts ?? 1;
    let lastError: string | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      try {
        const env = readJobEnv({ ...request.env, CLOUD_RUN_TASK_ATTEMPT: String(attempt) });
        await runHospitalJob(env, this.deps);
        return {
          executionId: randomUUID(),
          jobName: request.jobName,
          status: 'succeeded',
          attempts: attempt + 1,
          durationSeconds: (Date.now() - started) / 1000,
        };
      } catch (error) {
        lastError = (error as Error).message;
      }
    }
    return {
      executionId: randomUUID(),
      jobName: request.jobName,
      status: 'failed',
      attempts: maxAttempts,
      error: lastError,
      durationSeconds: (Date.now() - started) / 1000,
    };
  }
}
