import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths, UpdateReceiptSchema } from '../../../schemas/documents';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { writeCohort } from '../../../src/cli/cohort-files';
import { jobEnvVars } from '../../../src/config/job-env';
import { generateCohort } from '../../../src/core/data';
import { initializeBackend } from '../../../src/core/model';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../../src/local/embedded-platform';
import { driveTraining, type DriverProgress } from '../../../src/local/training-driver';
import { silentLogger } from '../../../src/logging/logger';
import type { JobRequest, JobRunner } from '../../../src/ports/job-runner';

jest.setTimeout(120_000);

/** Wraps a job runner and counts executions per mode, round and hospital. */
function countingRunner(inner: JobRunner): JobRunner & { calls: string[]; count(key: string): number } {
  const calls: string[] = [];
  return {
    calls,
    count: (key) => calls.filter((c) => c === key).length,
    run: (request: JobRequest) => {
      const e = request.env;
      calls.push(
        `${e.HIMAS_JOB_MODE}:${e.HIMAS_ROUND ?? e.HIMAS_MODEL_VERSION ?? '-'}:${e.HIMAS_HOSPITAL_ID}`,
      );
      return inner.run(request);
    },
  };
}

const CONFIG = TrainingConfigSchema.parse({
  rounds: 2,
  localEpochs: 1,
  hiddenUnits: [8],
  batchSize: 64,
  deadlineSeconds: 120,
});

describe('driveTraining with in-process jobs', () => {
  let home: string;
  let dataDir: string;
  let hospitals: string[];
  let platform: EmbeddedPlatform | undefined;

  beforeAll(async () => {
    await initializeBackend('auto');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'himas-driver-data-'));
    const cohort = generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 3 });
    hospitals = cohort.hospitals.map((h) => h.hospitalId);
    await writeCohort(cohort, dataDir);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-driver-'));
    platform = await openEmbeddedPlatform({ home, dataDir, logger: silentLogger, jobs: 'in-process' });
  });
  afterEach(async () => {
    await platform?.close();
    platform = undefined;
    rmSync(home, { recursive: true, force: true });
  });

  async function createRun(p: EmbeddedPlatform, runId: string) {
    return p.lifecycle.createRun({
      runId,
      config: CONFIG,
      hospitals,
      dataSource: { kind: 'csv', location: dataDir },
    });
  }

  function driverDeps(p: EmbeddedPlatform, jobs: JobRunner, onProgress?: (p: DriverProgress) => void) {
    return {
      lifecycle: p.lifecycle,
      documents: p.stack.documents,
      events: p.stack.events,
      jobs,
      clock: p.clock,
      onProgress,
    };
  }

  async function receipts(p: EmbeddedPlatform, runId: string, round: number) {
    return (await p.stack.documents.list(paths.updates(runId, round))).map((s) =>
      UpdateReceiptSchema.parse(s.data),
    );
  }

  it('runs 2 rounds over 3 hospitals to completion', async () => {
    const p = platform!;
    await createRun(p, 'drive');
    const jobs = countingRunner(p.jobs);
    const progress: DriverProgress[] = [];
    const run = await driveTraining(
      'drive',
      driverDeps(p, jobs, (x) => void progress.push(x)),
    );

    expect(run.status).toBe('completed');
    expect(run.completedAt).not.toBeNull();
    expect(run.currentRound).toBe(2);
    expect(run.latestModelVersionId).toBe('drive-r0002');
    expect(run.ledger).toHaveLength(2);
    const versions = await p.models.list('drive');
    expect(versions.map((v) => v.versionId)).toEqual(['drive-r0000', 'drive-r0001', 'drive-r0002']);
    expect(versions[2].parentVersionId).toBe('drive-r0001');
    const final = versions[2];
    expect(final.pooledMetrics).not.toBeNull();
    const testStays = generateCohort({
      preset: 'archetypes',
      hospitals: 3,
      patients: 600,
      seed: 3,
    }).hospitals.reduce((acc, h) => acc + h.test.length, 0);
    expect(final.pooledMetrics!.n).toBe(testStays);
    for (const round of [1, 2]) {
      const doc = (await p.lifecycle.getRound('drive', round))!;
      expect(doc.status).toBe('closed');
      expect(doc.participants).toEqual([...hospitals].sort());
      expect(await receipts(p, 'drive', round)).toHaveLength(3);
    }
    // One job per hospital per phase: stats, 2 training rounds, final evaluation.
    for (const h of hospitals) {
      expect(jobs.count(`stats:-:${h}`)).toBe(1);
      expect(jobs.count(`train:1:${h}`)).toBe(1);
      expect(jobs.count(`train:2:${h}`)).toBe(1);
      expect(jobs.count(`evaluate:drive-r0002:${h}`)).toBe(1);
    }
    expect(jobs.calls).toHaveLength(12);
    const rounds = progress.filter((x) => x.kind === 'round');
    expect(rounds.map((x) => (x.kind === 'round' ? [x.round, x.status] : null))).toEqual([
      [1, 'closed'],
      [2, 'closed'],
    ]);
    expect(progress.filter((x) => x.kind === 'job' && x.result.status !== 'succeeded')).toEqual([]);
  });

  it('resumes a run that crashed mid-round without re-running the hospital that already answered', async () => {
    const p = platform!;
    const run = await createRun(p, 'crashy');
    const jobs = countingRunner(p.jobs);
    // Before the crash: statistics, the initial model, round 1 opened, only the first hospital trained.
    for (const h of hospitals) {
      expect(
        (
          await jobs.run({
            jobName: `himas-train-${h}`,
            env: jobEnvVars({ mode: 'stats', runId: 'crashy', hospitalId: h }),
          })
        ).status,
      ).toBe('succeeded');
    }
    await p.lifecycle.initializeModel(run);
    await p.lifecycle.openRound('crashy', 1);
    const [first] = hospitals;
    const trained = await jobs.run({
      jobName: `himas-train-${first}`,
      env: jobEnvVars({ mode: 'train', runId: 'crashy', hospitalId: first, round: 1 }),
    });
    expect(trained.status).toBe('succeeded');
    await p.stack.events.idle();
    expect((await receipts(p, 'crashy', 1)).map((r) => r.hospitalId)).toEqual([first]);
    expect((await p.lifecycle.getRound('crashy', 1))!.status).toBe('open');

    const resumed = await driveTraining('crashy', driverDeps(p, jobs));

    expect(resumed.status).toBe('completed');
    expect(resumed.currentRound).toBe(2);
    expect(resumed.ledger).toHaveLength(2);
    const round1 = await receipts(p, 'crashy', 1);
    expect(round1).toHaveLength(3);
    expect(round1.every((r) => r.status === 'accepted')).toBe(true);
    expect(new Set(round1.map((r) => r.hospitalId))).toEqual(new Set(hospitals));
    expect(jobs.count(`train:1:${first}`)).toBe(1);
    for (const h of hospitals.slice(1)) expect(jobs.count(`train:1:${h}`)).toBe(1);
    for (const h of hospitals) {
      expect(jobs.count(`stats:-:${h}`)).toBe(1);
      expect(jobs.count(`train:2:${h}`)).toBe(1);
    }
    expect((await p.lifecycle.getRound('crashy', 1))!.participants).toEqual([...hospitals].sort());
    expect((await p.models.list('crashy')).map((v) => v.round)).toEqual([0, 1, 2]);

    // Driving a completed run again changes nothing and runs no training job.
    const before = jobs.calls.length;
    const again = await driveTraining('crashy', driverDeps(p, jobs));
    expect(again.currentRound).toBe(2);
    expect(jobs.calls.slice(before).filter((c) => c.startsWith('train') || c.startsWith('stats'))).toEqual(
      [],
    );
    expect((await p.models.list('crashy')).map((v) => v.round)).toEqual([0, 1, 2]);
  });

  it('stops at a halted run and reports why', async () => {
    const p = platform!;
    await createRun(p, 'halted');
    await p.stack.documents.update(paths.run('halted'), {
      halt: { reason: 'converged', by: 'orchestrator', at: new Date().toISOString() },
    });
    const jobs = countingRunner(p.jobs);
    const progress: DriverProgress[] = [];
    const run = await driveTraining(
      'halted',
      driverDeps(p, jobs, (x) => void progress.push(x)),
    );
    expect(run.status).toBe('halted');
    expect(run.currentRound).toBe(0);
    expect(progress).toContainEqual({ kind: 'halted', reason: 'converged' });
    expect(jobs.calls.filter((c) => c.startsWith('train'))).toEqual([]);
    expect(await p.lifecycle.getRound('halted', 1)).toBeUndefined();
  });

  it('fails clearly when a statistics job fails', async () => {
    const p = platform!;
    await createRun(p, 'nostats');
    const failing: JobRunner = {
      run: async (request) => ({
        executionId: 'x',
        jobName: request.jobName,
        status: 'failed',
        attempts: 2,
        error: 'cohort file missing',
        durationSeconds: 0,
      }),
    };
    await expect(driveTraining('nostats', driverDeps(p, failing))).rejects.toThrow(
      /statistics jobs failed: himas-train-.*: cohort file missing/,
    );
    await expect(driveTraining('nobody', driverDeps(p, failing))).rejects.toThrow(
      'run nobody does not exist',
    );
  });
});
