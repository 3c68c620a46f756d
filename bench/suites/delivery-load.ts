import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths, RoundDocumentSchema } from '../../schemas/documents';
import { TrainingConfigSchema } from '../../schemas/training-config';
import { FileHospitalKeyStore } from '../../src/adapters/keys/file-hospital-key-store';
import { hospitalStateDir, localHospitalLedger } from '../../src/adapters/ledger/local-hospital-ledger';
import { initializeBackend } from '../../src/core/model';
import { SeededRandom } from '../../src/core/random/seeded-random';
import { openEmbeddedPlatform } from '../../src/local/embedded-platform';
import { InProcessJobRunner } from '../../src/local/jobs/in-process-job-runner';
import { runTrainingWorkflow } from '../../src/local/workflow-training';
import { silentLogger } from '../../src/logging/logger';
import { systemClock } from '../../src/ports/clock';
import type { EventBus } from '../../src/ports/event-bus';
import type { JobRunner } from '../../src/ports/job-runner';
import { SharedTinyCohort, TINY_CONFIG } from './orchestration';

/**
 * Load under faults (issue 20): K hospitals on the embedded stack, every event published twice
 * (each message comes again with the same envelope, as Pub/Sub's at-least-once delivery may
 * bring it) and a seeded 10 % of the training jobs failing before they submit (a crashed job,
 * after its retries). The round must close with exactly the hospitals whose jobs succeeded, once
 * each. What is simulated is the orchestration benchmark's: one tiny cohort shared by every
 * hospital and a tiny MLP, so the round is almost all orchestration.
 */
export interface DeliveryLoadResult {
  hospitals: number;
  failureRate: number;
  /** Hospitals whose training job was made to fail. */
  failedJobs: number;
  /** The round document's participants (each hospital once). */
  participants: number;
  /** True when the participants are exactly the hospitals whose jobs succeeded. */
  rightParticipants: boolean;
  /** Events published (each twice). */
  publishedEvents: number;
  /** Round 1 opened → closed. */
  roundSeconds: number;
  /** The whole workflow: statistics jobs, initial model, the round, evaluation. */
  workflowSeconds: number;
}

export async function benchDeliveryLoad(options: {
  hospitals: number;
  failureRate: number;
  seed: number;
}): Promise<DeliveryLoadResult> {
  await initializeBackend('cpu');
  const home = mkdtempSync(path.join(os.tmpdir(), 'himas-bench-load-'));
  const platform = await openEmbeddedPlatform({
    home,
    dataDir: home,
    logger: silentLogger,
    jobs: 'in-process',
  });
  try {
    // Every publisher shares this one bus (coordinator, aggregator, jobs): each message it is
    // handed goes out twice, the second a redelivery of the same event.
    let publishedEvents = 0;
    const bus: EventBus = platform.stack.events;
    const publishOnce = bus.publish.bind(bus);
    bus.publish = async (topic, message) => {
      publishedEvents++;
      const id = await publishOnce(topic, message);
      await publishOnce(topic, message);
      return id;
    };
    const ids = Array.from({ length: options.hospitals }, (_, k) => `sim${String(k).padStart(4, '0')}`);
    // A seeded draw of exactly round(rate · K) hospitals whose training job fails.
    const random = new SeededRandom(options.seed);
    const shuffled = ids.map((id) => ({ id, key: random.nextDouble() }));
    shuffled.sort((a, b) => a.key - b.key);
    const failing = new Set(shuffled.slice(0, Math.round(options.failureRate * ids.length)).map((x) => x.id));
    const inner = new InProcessJobRunner({
      documents: platform.stack.documents,
      blobs: platform.stack.blobs,
      events: bus,
      models: platform.models,
      cohorts: new SharedTinyCohort(),
      keys: new FileHospitalKeyStore(path.join(home, 'keys')),
      ledger: localHospitalLedger(hospitalStateDir(home)),
      clock: systemClock,
      logger: silentLogger,
    });
    const jobs: JobRunner = {
      run: async (request) => {
        const hospitalId = request.env.HIMAS_HOSPITAL_ID;
        if (request.env.HIMAS_JOB_MODE === 'train' && hospitalId !== undefined && failing.has(hospitalId))
          return {
            executionId: `${request.jobName}-failed`,
            jobName: request.jobName,
            status: 'failed',
            attempts: request.maxAttempts ?? 1,
            error: 'made to fail by the load benchmark',
            durationSeconds: 0,
          };
        return inner.run(request);
      },
    };
    const runId = `load-k${options.hospitals}`;
    const started = Date.now();
    const outcome = await runTrainingWorkflow(
      { ...platform, jobs },
      {
        runId,
        hospitals: ids,
        // The quorum is every hospital whose job succeeds (the default, all K, would fail the round).
        config: TrainingConfigSchema.parse({ ...TINY_CONFIG, rounds: 1, quorum: ids.length - failing.size }),
        dataDir: home,
        declaredTrainStays: Object.fromEntries(ids.map((id) => [id, 100])),
        resume: false,
      },
    );
    const workflowSeconds = (Date.now() - started) / 1000;
    if (!outcome.ok) throw new Error(`workflow failed: ${JSON.stringify(outcome).slice(0, 500)}`);
    const round = RoundDocumentSchema.parse(await platform.stack.documents.get(paths.round(runId, 1)));
    if (round.status !== 'closed' || round.closedAt === null)
      throw new Error(`round 1 ended ${round.status}: ${JSON.stringify(round).slice(0, 800)}`);
    const expected = ids.filter((id) => !failing.has(id)).sort();
    const participants = [...round.participants].sort();
    return {
      hospitals: options.hospitals,
      failureRate: options.failureRate,
      failedJobs: failing.size,
      participants: participants.length,
      rightParticipants: JSON.stringify(participants) === JSON.stringify(expected),
      publishedEvents,
      roundSeconds: (Date.parse(round.closedAt) - Date.parse(round.openedAt)) / 1000,
      workflowSeconds,
    };
  } finally {
    await platform.close();
    rmSync(home, { recursive: true, force: true });
  }
}
