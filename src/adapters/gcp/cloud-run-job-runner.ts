import type { JobRequest, JobResult, JobRunner } from '../../ports/job-runner';
import { GrpcStatus, googleErrorMessage, grpcCodeOf } from './grpc-status';

/**
 * JobRunner on the Cloud Run Admin API v2 (`JobsClient.runJob`): what the workflow's
 * `googleapis.run.v2.namespaces.jobs.run` connector does, for the local workflow engine driving
 * real Cloud Run jobs. Each request runs one execution of `<jobName>` with the request's variables
 * as container overrides, one task and the request's timeout, and waits for its long-running
 * operation. Cloud Run retries a failed task itself up to the job's `max_retries` (Terraform
 * `job_max_retries`; overrides cannot change it), so an execution can already hold several
 * attempts; when `maxAttempts` asks for more than the job gave, the runner starts further
 * executions until the attempts are spent. It cannot ask for fewer: the result reports the
 * attempts Cloud Run actually made.
 */
export interface CloudRunJobRunnerOptions {
  projectId: string;
  region: string;
}

/** google.protobuf.Timestamp as the client decodes it. */
interface Timestamp {
  seconds?: number | string | { toString(): string } | null;
  nanos?: number | null;
}

/** The fields of a Cloud Run v2 Execution this adapter reads. */
export interface CloudRunExecution {
  name?: string | null;
  succeededCount?: number | null;
  failedCount?: number | null;
  retriedCount?: number | null;
  cancelledCount?: number | null;
  startTime?: Timestamp | null;
  completionTime?: Timestamp | null;
  conditions?: { type?: string | null; state?: string | number | null; message?: string | null }[] | null;
}

export interface CloudRunRunJobRequest {
  name: string;
  overrides: {
    containerOverrides: { env: { name: string; value: string }[] }[];
    taskCount: number;
    timeout?: { seconds: number };
  };
}

/** The part of `JobsClient` (@google-cloud/run v2) this adapter calls. */
export interface CloudRunJobsService {
  runJob(request: CloudRunRunJobRequest): Promise<
    [
      {
        /** The Execution, decoded by google-gax from the operation (typed there as gRPC Metadata). */
        metadata?: unknown;
        promise(): Promise<[CloudRunExecution, ...unknown[]]>;
      },
      ...unknown[],
    ]
  >;
}

/** The part of `ExecutionsClient` used to read a failed execution's counts. */
export interface CloudRunExecutionsService {
  getExecution(request: { name: string }): Promise<[CloudRunExecution, ...unknown[]]>;
}

export class CloudRunJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloudRunJobError';
  }
}

export class CloudRunJobRunner implements JobRunner {
  constructor(
    private readonly jobs: CloudRunJobsService,
    private readonly options: CloudRunJobRunnerOptions,
    private readonly executions?: CloudRunExecutionsService,
    private readonly now: () => number = Date.now,
  ) {}

  async run(request: JobRequest): Promise<JobResult> {
    const started = this.now();
    const maxAttempts = request.maxAttempts ?? 1;
    let attempts = 0;
    let last: { executionId: string; error?: string; succeeded: boolean };
    do {
      const outcome = await this.runExecution(request);
      attempts += outcome.attempts;
      last = outcome;
    } while (!last.succeeded && attempts < maxAttempts);
    return {
      executionId: last.executionId,
      jobName: request.jobName,
      status: last.succeeded ? 'succeeded' : 'failed',
      attempts,
      ...(last.succeeded ? {} : { error: last.error ?? 'the execution failed' }),
      durationSeconds: (this.now() - started) / 1000,
    };
  }

  private jobPath(jobName: string): string {
    return `projects/${this.options.projectId}/locations/${this.options.region}/jobs/${jobName}`;
  }

  private async runExecution(
    request: JobRequest,
  ): Promise<{ executionId: string; attempts: number; succeeded: boolean; error?: string }> {
    const name = this.jobPath(request.jobName);
    let operation;
    try {
      [operation] = await this.jobs.runJob({
        name,
        overrides: {
          containerOverrides: [
            { env: Object.entries(request.env).map(([envName, value]) => ({ name: envName, value })) },
          ],
          taskCount: 1,
          ...(request.timeoutSeconds ? { timeout: { seconds: request.timeoutSeconds } } : {}),
        },
      });
    } catch (error) {
      throw explainStartError(error, request.jobName, name);
    }
    const executionName = (operation.metadata as CloudRunExecution | null | undefined)?.name ?? undefined;
    try {
      const [execution] = await operation.promise();
      return summarise(execution, executionName);
    } catch (error) {
      // A failed execution fails its operation; read the execution for its attempts when possible.
      const execution =
        executionName && this.executions
          ? await this.executions
              .getExecution({ name: executionName })
              .then(([e]) => e)
              .catch(() => undefined)
          : undefined;
      const summary = summarise(execution ?? { name: executionName }, executionName);
      return { ...summary, succeeded: false, error: summary.error ?? (error as Error).message };
    }
  }
}

function summarise(
  execution: CloudRunExecution,
  fallbackName: string | undefined,
): { executionId: string; attempts: number; succeeded: boolean; error?: string } {
  const name = execution.name ?? fallbackName ?? '';
  const succeeded = (execution.succeededCount ?? 0) > 0 && (execution.failedCount ?? 0) === 0;
  const failedCondition = (execution.conditions ?? []).find(
    (c) => c.state === 'CONDITION_FAILED' || c.state === 3,
  );
  return {
    executionId: name.slice(name.lastIndexOf('/') + 1),
    // One task: every retry of it is one more attempt.
    attempts: (execution.retriedCount ?? 0) + 1,
    succeeded,
    ...(succeeded ? {} : { error: failedCondition?.message ?? undefined }),
  };
}

function explainStartError(error: unknown, jobName: string, path: string): Error {
  const code = grpcCodeOf(error);
  const detail = googleErrorMessage(error);
  if (code === GrpcStatus.NOT_FOUND)
    return new CloudRunJobError(
      `Cloud Run job ${jobName} does not exist (${path}); Terraform creates one job per hospital named himas-train-<hospital> in HIMAS_REGION: ${detail}`,
    );
  if (code === GrpcStatus.PERMISSION_DENIED)
    return new CloudRunJobError(
      `not allowed to run Cloud Run job ${jobName} with overrides (${path}): the caller's service account needs run.jobs.runWithOverrides on the job (roles/run.developer, or roles/run.invoker with overrides allowed): ${detail}`,
    );
  return error instanceof Error ? error : new Error(detail);
}
