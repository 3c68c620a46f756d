import { paths, UpdateReceiptSchema, type RoundDocument, type RunDocument } from '../../schemas/documents';
import { jobEnvVars } from '../config/job-env';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { JobResult, JobRunner } from '../ports/job-runner';
import type { RunLifecycle } from '../services/run-lifecycle';

/** What the driver reports as it goes, for the CLI's progress lines. */
export type DriverProgress =
  | { kind: 'phase'; message: string }
  | { kind: 'job'; round: number | null; hospitalId: string; result: JobResult }
  | {
      kind: 'round';
      round: number;
      rounds: number;
      status: RoundDocument['status'];
      seconds: number;
      doc: RoundDocument;
    }
  | { kind: 'halted'; reason: string };

export interface DriverDeps {
  lifecycle: RunLifecycle;
  documents: DocumentStore;
  events: EventBus;
  jobs: JobRunner;
  clock: Clock;
  onProgress?: (progress: DriverProgress) => void | Promise<void>;
  /** Hospital jobs run at once (default 2: the cores of a small machine). */
  jobConcurrency?: number;
  /** Attempts per job execution (Cloud Run max_retries + 1). */
  jobAttempts?: number;
}

/**
 * Drives a run round by round, the way workflows/federated-training.yaml will in Cloud Workflows:
 * federated statistics and the initial model, then for each round open it (round.started), run
 * every hospital's job, wait for the round document to close or fail, and stop early when the run
 * is halted. Every step is idempotent, so driving a crashed run again (`--resume`) continues where
 * it stopped: hospitals that already answered a round are not run again.
 */
export async function driveTraining(runId: string, deps: DriverDeps): Promise<RunDocument> {
  const progress = async (p: DriverProgress) => {
    await deps.onProgress?.(p);
  };
  let run = await mustGetRun(deps, runId);

  const missing = await deps.lifecycle.hospitalsWithoutStatistics(run);
  if (missing.length > 0) {
    await progress({
      kind: 'phase',
      message: `federated feature statistics from ${missing.length} hospital(s)`,
    });
    const results = await runJobs(
      deps,
      missing,
      (h) => jobEnvVars({ mode: 'stats', runId, hospitalId: h }),
      null,
    );
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length > 0)
      throw new Error(`statistics jobs failed: ${failed.map((r) => `${r.jobName}: ${r.error}`).join('; ')}`);
  }
  await deps.lifecycle.initializeModel(run);

  for (let round = run.currentRound + 1; round <= run.config.rounds; round++) {
    run = await mustGetRun(deps, runId);
    if (run.halt) break;
    const started = deps.clock.now().getTime();
    let roundDoc = await deps.lifecycle.startRound(runId, round);
    if (roundDoc.status === 'open' || roundDoc.status === 'aggregating') {
      const answered = new Set(
        (await deps.documents.list(paths.updates(runId, round))).map(
          (s) => UpdateReceiptSchema.parse(s.data).hospitalId,
        ),
      );
      const pending = roundDoc.expectedHospitals.filter((h) => !answered.has(h));
      await runJobs(deps, pending, (h) => jobEnvVars({ mode: 'train', runId, hospitalId: h, round }), round);
      roundDoc = await waitForRoundEnd(deps, runId, round);
    }
    await progress({
      kind: 'round',
      round,
      rounds: run.config.rounds,
      status: roundDoc.status,
      seconds: (deps.clock.now().getTime() - started) / 1000,
      doc: roundDoc,
    });
  }

  run = await mustGetRun(deps, runId);
  if (run.halt) await progress({ kind: 'halted', reason: run.halt.reason });
  if (run.latestModelVersionId) {
    await progress({
      kind: 'phase',
      message: `final evaluation of ${run.latestModelVersionId} at every hospital`,
    });
    const versionId = run.latestModelVersionId;
    await runJobs(
      deps,
      run.hospitals,
      (h) => jobEnvVars({ mode: 'evaluate', runId, hospitalId: h, modelVersionId: versionId }),
      null,
    );
    await deps.events.idle();
  }
  await deps.lifecycle.finishRun(runId, run.halt ? 'halted' : 'completed');
  return mustGetRun(deps, runId);
}

/**
 * Waits for the aggregator to close or fail the round. Once every job execution has finished and
 * the event bus is idle, nothing more can arrive, so the driver signals the deadline at once rather
 * than waiting out the clock; otherwise it signals at the round's deadline.
 */
async function waitForRoundEnd(deps: DriverDeps, runId: string, round: number): Promise<RoundDocument> {
  let signalled = false;
  let delayMs = 20;
  for (;;) {
    await deps.events.idle();
    const doc = await deps.lifecycle.getRound(runId, round);
    if (!doc) throw new Error(`round ${round} of run ${runId} disappeared`);
    if (doc.status === 'closed' || doc.status === 'failed') return doc;
    if (!signalled && (doc.status === 'open' || deps.clock.now() >= new Date(doc.deadline))) {
      await deps.lifecycle.signalDeadline(runId, round);
      signalled = true;
      continue;
    }
    await deps.clock.sleep(delayMs);
    delayMs = Math.min(1000, delayMs * 2);
    if (deps.clock.now() >= new Date(new Date(doc.deadline).getTime() + 60_000)) {
      throw new Error(`round ${round} of run ${runId} is still ${doc.status} a minute after its deadline`);
    }
  }
}

async function runJobs(
  deps: DriverDeps,
  hospitals: string[],
  envFor: (hospitalId: string) => Record<string, string>,
  round: number | null,
): Promise<JobResult[]> {
  const limit = Math.max(1, deps.jobConcurrency ?? 2);
  const results: JobResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < hospitals.length) {
      const hospitalId = hospitals[next++];
      const result = await deps.jobs.run({
        jobName: `himas-train-${hospitalId}`,
        env: envFor(hospitalId),
        maxAttempts: deps.jobAttempts ?? 2,
      });
      results.push(result);
      await deps.onProgress?.({ kind: 'job', round, hospitalId, result });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, hospitals.length) }, worker));
  return results;
}

async function mustGetRun(deps: DriverDeps, runId: string): Promise<RunDocument> {
  const run = await deps.lifecycle.getRun(runId);
  if (!run) throw new Error(`run ${runId} does not exist`);
  return run;
}
