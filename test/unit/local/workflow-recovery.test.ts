import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelVersionId, paths, RoundDocumentSchema } from '../../../schemas/documents';
import { deadLetterTopic } from '../../../schemas/events';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { aggregateHandler } from '../../../functions/aggregate';
import { writeCohort } from '../../../src/cli/cohort-files';
import { jobEnvVars } from '../../../src/config/job-env';
import { generateCohort } from '../../../src/core/data';
import { initializeBackend } from '../../../src/core/model';
import { AGGREGATOR_SUBSCRIPTIONS, openEmbeddedPlatform } from '../../../src/local/embedded-platform';
import { runTrainingWorkflow } from '../../../src/local/workflow-training';
import { memoryLogger, silentLogger } from '../../../src/logging/logger';
import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { localProcessLiveness } from '../../../src/runtime/local-process-liveness';
import { Aggregator } from '../../../src/services/aggregator';
import { enrolSimulatedHospitals } from '../../../src/services/hospital-enrolment';
import { messagePublishedFromDelivery } from '../../../src/services/pubsub-message';

jest.setTimeout(120_000);

const CONFIG = TrainingConfigSchema.parse({
  patientPrivacy: 'none',
  rounds: 2,
  localEpochs: 1,
  hiddenUnits: [8],
  batchSize: 64,
  // The default: a recovery that waited for the deadline would wait ten minutes.
  deadlineSeconds: 600,
});

/**
 * Issue 20's case, deterministic: the aggregator is killed while it aggregates (after the last
 * receipt and the noise draw, before the version is stored), leaving the round `aggregating` under
 * a lease with most of its time to run. The next process to look — the resumed `himas train` — must
 * finish the round at once, not at its deadline, and count nothing twice.
 */
describe('recovery of a round whose aggregator was killed during aggregation', () => {
  let home: string;
  let dataDir: string;
  let hospitals: string[];
  let declaredTrainStays: Record<string, number>;

  beforeAll(async () => {
    await initializeBackend('auto');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'himas-recovery-data-'));
    const cohort = generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 5 });
    hospitals = cohort.hospitals.map((h) => h.hospitalId);
    declaredTrainStays = Object.fromEntries(cohort.hospitals.map((h) => [h.hospitalId, h.train.length]));
    await writeCohort(cohort, dataDir);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-recovery-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('resumes at once: the dead holder is taken over, the round closes long before its deadline', async () => {
    const runId = 'killed-aggregating';
    // The process that is killed: a real aggregator on the store's subscriptions whose lease names
    // a process of this machine that is gone, and whose bus dies as it is about to store the version.
    const crashed = await openEmbeddedPlatform({
      home,
      dataDir,
      logger: silentLogger,
      jobs: 'in-process',
      withAggregator: false,
    });
    const probe = localProcessLiveness()!;
    const gonePid = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString(),
    );
    let killed = false;
    const dying = new Aggregator({
      documents: crashed.stack.documents,
      blobs: crashed.stack.blobs,
      events: crashed.stack.events,
      models: {
        ...crashed.models,
        get: (id) => crashed.models.get(id),
        load: (id) => crashed.models.load(id),
        list: (id) => crashed.models.list(id),
        annotate: (id, patch) => crashed.models.annotate(id, patch),
        register: async () => {
          killed = true;
          await crashed.stack.events.close(); // kill -9: the delivery's outcome is never recorded
          throw new Error('killed');
        },
      },
      clock: crashed.clock,
      logger: silentLogger,
      random: new CryptoRandom(),
      instanceId: 'aggregator-killed',
      leaseHolders: { self: () => ({ ...probe.self(), pid: gonePid }), isGone: () => false },
    });
    for (const subscription of AGGREGATOR_SUBSCRIPTIONS)
      await crashed.stack.events.subscribe(
        {
          ...subscription,
          maxDeliveryAttempts: 10,
          deadLetterTopic: deadLetterTopic(subscription.topic),
        },
        (delivery) =>
          aggregateHandler(async () => dying)({
            data: messagePublishedFromDelivery(delivery, subscription.name),
          }),
      );
    await enrolSimulatedHospitals(
      {
        documents: crashed.stack.documents,
        clock: crashed.clock,
        operator: 'operator:test',
        keys: crashed.hospitalKeys,
      },
      hospitals,
    );
    await crashed.lifecycle.createRun({
      runId,
      config: CONFIG,
      hospitals,
      dataSource: { kind: 'csv', location: dataDir },
      declaredTrainStays,
    });
    for (const h of hospitals)
      await crashed.jobs.run({
        jobName: `himas-train-${h}`,
        env: jobEnvVars({ mode: 'stats', runId, hospitalId: h }),
      });
    await crashed.lifecycle.initializeModel((await crashed.lifecycle.getRun(runId))!);
    await crashed.lifecycle.startRound(runId, 1);
    for (const h of hospitals)
      await crashed.jobs.run({
        jobName: `himas-train-${h}`,
        env: jobEnvVars({ mode: 'train', runId, hospitalId: h, round: 1 }),
      });
    // Every double-masked round unmasks with the survivors' reveal; the last one starts the close.
    await crashed.stack.events.idle();
    for (const h of hospitals)
      await crashed.jobs.run({
        jobName: `himas-train-${h}`,
        env: jobEnvVars({ mode: 'reveal', runId, hospitalId: h, round: 1 }),
      });
    for (let waited = 0; !killed; waited += 20) {
      if (waited > 30_000) throw new Error('the aggregation never reached the version store');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await crashed.stack.close();

    // What the crash left: every receipt in, the round aggregating under an unexpired lease.
    const resumed = await openEmbeddedPlatform({
      home,
      dataDir,
      logger: memoryLogger(),
      jobs: 'in-process',
      withAggregator: false,
    });
    const left = RoundDocumentSchema.parse(await resumed.stack.documents.get(paths.round(runId, 1)));
    expect(left.status).toBe('aggregating');
    expect(new Date(left.lease!.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(left.lease!.holder!.pid).toBe(gonePid);
    expect(await resumed.stack.documents.count(paths.updates(runId, 1))).toBe(3);
    await resumed.close();

    // The resume: `himas train --resume` opens the platform (its bus redelivers what the killed
    // process never acked) and executes the workflow again.
    const logger = memoryLogger();
    const platform = await openEmbeddedPlatform({ home, dataDir, logger, jobs: 'in-process' });
    try {
      const outcome = await runTrainingWorkflow(platform, {
        runId,
        hospitals,
        config: CONFIG,
        dataDir,
        declaredTrainStays,
        resume: true,
      });
      expect(outcome).toEqual({ ok: true, result: expect.objectContaining({ status: 'completed' }) });
      const round1 = RoundDocumentSchema.parse(await platform.stack.documents.get(paths.round(runId, 1)));
      expect(round1.status).toBe('closed');
      // Not the deadline: the round closed before it came.
      expect(new Date(round1.closedAt!).getTime()).toBeLessThan(new Date(round1.deadline).getTime());
      expect(round1.participants).toEqual([...hospitals].sort());
      const takeovers = logger.entries.filter((e) => e.event === 'round.lease-taken-over');
      expect(takeovers).toEqual([
        expect.objectContaining({ round: 1, previousOwner: left.lease!.owner, why: 'holder-gone' }),
      ]);
      const run = (await platform.lifecycle.getRun(runId))!;
      expect(run.ledger).toHaveLength(2); // each round charged once
      expect(run.latestModelVersionId).toBe(modelVersionId(runId, 2));
      expect((await platform.models.list(runId)).map((v) => v.round)).toEqual([0, 1, 2]);
      // Every update counted once: one acceptance per hospital and round, across both processes.
      const accepted = logger.entries.filter((e) => e.event === 'update.accepted' && e.round === 1);
      expect(accepted).toHaveLength(0); // round 1's receipts were the killed process's
    } finally {
      await platform.close();
    }
  });
});
