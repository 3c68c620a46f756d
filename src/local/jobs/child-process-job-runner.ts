import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { Logger, LogEntry } from '../../logging/logger';
import type { JobRequest, JobResult, JobRunner } from '../../ports/job-runner';
import { servePortsOverIpc, type JobPorts } from '../ipc/ipc-ports';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const JOB_ENTRY = path.join(REPO_ROOT, 'jobs', 'train', 'main.ts');
const RUN_TS = path.join(REPO_ROOT, 'bin', 'run-ts.js');

/**
 * Runs each hospital job as its own Node.js process with the environment Cloud Run gives a job
 * task (CLOUD_RUN_JOB, CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX/ATTEMPT/COUNT) plus the request's
 * overrides. With `ports` the process reaches the embedded stack's adapters over IPC
 * (HIMAS_STACK=local-ipc); without, `stackEnv` names a stack the job opens itself (the emulators),
 * exactly as a Cloud Run task does. A failed attempt is retried up to `maxAttempts`, like Cloud
 * Run's `max_retries`.
 */
export class ChildProcessJobRunner implements JobRunner {
  constructor(
    private readonly ports: JobPorts | undefined,
    private readonly options: {
      logger: Logger;
      extraEnv?: Record<string, string>;
      entry?: string;
      /** The stack's variables (HIMAS_STACK and its hosts) when the job opens the stack itself. */
      stackEnv?: Record<string, string>;
    },
  ) {
    if (!ports && !options.stackEnv) throw new Error('ChildProcessJobRunner needs ports (IPC) or a stackEnv');
  }

  async run(request: JobRequest): Promise<JobResult> {
    const started = Date.now();
    const executionId = `${request.jobName}-${randomUUID().slice(0, 8)}`;
    const maxAttempts = request.maxAttempts ?? 1;
    let lastError: string | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      lastError = await this.runAttempt(request, executionId, attempt);
      if (lastError === undefined) {
        return {
          executionId,
          jobName: request.jobName,
          status: 'succeeded',
          attempts: attempt + 1,
          durationSeconds: (Date.now() - started) / 1000,
        };
      }
    }
    return {
      executionId,
      jobName: request.jobName,
      status: 'failed',
      attempts: maxAttempts,
      error: lastError,
      durationSeconds: (Date.now() - started) / 1000,
    };
  }

  /** Resolves with undefined on success, or the reason the attempt failed. */
  private runAttempt(request: JobRequest, executionId: string, attempt: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const child = fork(RUN_TS, [this.options.entry ?? JOB_ENTRY], {
        env: {
          ...process.env,
          ...this.options.extraEnv,
          ...request.env,
          ...(this.ports ? { HIMAS_STACK: 'local-ipc' } : this.options.stackEnv),
          CLOUD_RUN_JOB: request.jobName,
          CLOUD_RUN_EXECUTION: executionId,
          CLOUD_RUN_TASK_INDEX: '0',
          CLOUD_RUN_TASK_ATTEMPT: String(attempt),
          CLOUD_RUN_TASK_COUNT: '1',
        },
        serialization: 'advanced',
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      if (this.ports) servePortsOverIpc(child, this.ports);
      let lastErrorLine = '';
      const forward = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          const entry = parseLogLine(line);
          if (entry) {
            if (entry.severity === 'ERROR' || entry.severity === 'CRITICAL') lastErrorLine = entry.message;
            this.options.logger.write({ ...entry, job: request.jobName, execution: executionId });
          } else {
            lastErrorLine = line;
            this.options.logger.write({
              severity: 'DEBUG',
              event: 'job.output',
              message: line,
              job: request.jobName,
            });
          }
        }
      };
      child.stdout?.on('data', forward);
      child.stderr?.on('data', forward);
      const timer = request.timeoutSeconds
        ? setTimeout(() => {
            lastErrorLine = `timed out after ${request.timeoutSeconds} s`;
            child.kill('SIGKILL');
          }, request.timeoutSeconds * 1000)
        : undefined;
      child.on('error', (error) => {
        lastErrorLine = error.message;
      });
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        if (code === 0) resolve(undefined);
        else resolve(lastErrorLine || `exited with ${signal ?? `code ${code}`}`);
      });
    });
  }
}

function parseLogLine(line: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as LogEntry;
    return typeof value.severity === 'string' && typeof value.message === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
