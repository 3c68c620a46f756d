import { enrolSimulatedHospitals } from '../../../src/services/hospital-enrolment';
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
import { runTrainingWorkflow } from '../../../src/local/workflow-training';
import { silentLogger } from '../../../src/logging/logger';
import type { JobRequest, JobRunner } from '../../../src/ports/job-runner';

jest.setTimeout(120_000);

/** Wraps a job runner and records executions as `mode:round-or-version:hospital`. */
function countingRunner(inner: JobRunner): JobRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
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
  // Workflow mechanics under test; patient-level DP-SGD (the default) is tested in
  // test/unit/services/patient-privacy.test.ts and end to end in test/e2e/train.test.ts.
  patientPrivacy: 'none',
  rounds: 2,
  localEpochs: 1,
  hiddenUnits: [8],
  batchSize: 64,
  deadlineSeconds: 120,
});

/** workflows/federated-training.yaml, executed by the local engine against an embedded platform. */
describe('the training workflow on the embedded platform', () => {
  let home: string;
  let dataDir: string;
  let hospitals: string[];
  let platform: EmbeddedPlatform | undefined;
  let declaredTrainStays: Record<string, number>;

  beforeAll(async () => {
    await initializeBackend('auto');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'himas-wf-data-'));
    const cohort = generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 3 });
    hospitals = cohort.hospitals.map((h) => h.hospitalId);
    declaredTrainStays = Object.fromEntries(cohort.hospitals.map((h) => [h.hospitalId, h.train.length]));
    await writeCohort(cohort, dataDir);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-wf-'));
    platform = await openEmbeddedPlatform({ home, dataDir, logger: silentLogger, jobs: 'in-process' });
    // The operator's enrolment, ahead of any job (some tests run jobs before the workflow does).
    await enrolSimulatedHospitals(
      {
        documents: platform.stack.documents,
        clock: platform.clock,
        operator: 'operator:test',
        keys: platform.hospitalKeys,
      },
      hospitals,
    );
  });
  afterEach(async () => {
    await platform?.close();
    platform = undefined;
    rmSync(home, { recursive: true, force: true });
  });

  const run = (p: EmbeddedPlatform, jobs: JobRunner, runId: string, resume = false) =>
    runTrainingWorkflow(
      { ...p, jobs },
      { runId, hospitals, config: CONFIG, dataDir, declaredTrainStays, resume },
    );

  it('trains every round, evaluates the final model and returns a summary', async () => {
    const p = platform!;
    const jobs = countingRunner(p.jobs);
    const outcome = await run(p, jobs, 'wf-full');
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({
        runId: 'wf-full',
        status: 'completed',
        latestModelVersionId: 'wf-full-r0002',
        rounds: [
          { round: 1, status: 'closed' },
          { round: 2, status: 'closed' },
        ],
      }),
    });
    // 3 statistics + 2 rounds × (3 training + 3 reveals: every double-masked round unmasks with
    // the survivors' shares) + 3 evaluations.
    expect(jobs.calls).toHaveLength(18);
    expect(jobs.calls.filter((c) => c.startsWith('train:1:'))).toHaveLength(3);
    expect(jobs.calls.filter((c) => c.startsWith('reveal:2:'))).toHaveLength(3);
    await p.stack.events.idle();
    const versions = await p.models.list('wf-full');
    expect(versions.map((v) => v.round)).toEqual([0, 1, 2]);
    expect(versions[2].pooled?.metrics.n).toBeGreaterThan(0);
    expect((await p.lifecycle.getRun('wf-full'))?.status).toBe('completed');
  });

  it("stops before anything runs when a simulated hospital's key file was deleted: no silent re-enrolment", async () => {
    const p = platform!;
    const enrolled = await p.stack.documents.get(paths.hospital(hospitals[1]));
    rmSync(path.join(home, 'keys', `${hospitals[1]}.signing.json`));
    const jobs = countingRunner(p.jobs);
    await expect(run(p, jobs, 'wf-lost-key')).rejects.toThrow(
      new RegExp(`hospital ${hospitals[1]} has no signing key in .*himas hospitals rotate ${hospitals[1]}`),
    );
    expect(jobs.calls).toEqual([]);
    expect(await p.lifecycle.getRun('wf-lost-key')).toBeUndefined();
    expect(await p.stack.documents.get(paths.hospital(hospitals[1]))).toEqual(enrolled);
  });

  it('resumes a run interrupted mid-round: every hospital counted once, no update recomputed', async () => {
    const p = platform!;
    // The state a crash leaves: run, statistics and model created, round 1 open, one update in.
    await p.lifecycle.createRun({
      runId: 'wf-crash',
      config: CONFIG,
      hospitals,
      dataSource: { kind: 'csv', location: dataDir },
      declaredTrainStays,
    });
    for (const h of hospitals)
      await p.jobs.run({
        jobName: `himas-train-${h}`,
        env: jobEnvVars({ mode: 'stats', runId: 'wf-crash', hospitalId: h }),
      });
    await p.lifecycle.initializeModel((await p.lifecycle.getRun('wf-crash'))!);
    await p.lifecycle.startRound('wf-crash', 1);
    await p.jobs.run({
      jobName: `himas-train-${hospitals[0]}`,
      env: jobEnvVars({ mode: 'train', runId: 'wf-crash', hospitalId: hospitals[0], round: 1 }),
    });
    await p.stack.events.idle();
    const before = UpdateReceiptSchema.parse(
      await p.stack.documents.get(paths.update('wf-crash', 1, hospitals[0])),
    );

    const outcome = await run(p, countingRunner(p.jobs), 'wf-crash', true);
    expect(outcome.ok).toBe(true);
    const receipts = (await p.stack.documents.list(paths.updates('wf-crash', 1))).map((s) =>
      UpdateReceiptSchema.parse(s.data),
    );
    expect(receipts.map((r) => r.hospitalId).sort()).toEqual([...hospitals].sort());
    const after = receipts.find((r) => r.hospitalId === hospitals[0])!;
    expect(after.sha256).toBe(before.sha256); // the first hospital's update was not recomputed
    expect((await p.lifecycle.getRun('wf-crash'))?.ledger).toHaveLength(2);
  });

  it('closes every round of a run with hospital-level noise (one aggregation per round, weights intact)', async () => {
    const p = platform!;
    const noisy = TrainingConfigSchema.parse({ ...CONFIG, rounds: 3, noiseMultiplier: 0.5 });
    const outcome = await runTrainingWorkflow(p, {
      runId: 'wf-noise',
      hospitals,
      config: noisy,
      dataDir,
      declaredTrainStays,
      resume: false,
    });
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({ rounds: [1, 2, 3].map((round) => ({ round, status: 'closed' })) }),
    });
    for (const round of [1, 2, 3]) await p.models.load(`wf-noise-r000${round}`); // checksums hold
    expect((await p.lifecycle.getRun('wf-noise'))?.privacy[0].epsilon).toBeGreaterThan(0);
  });

  it('recovers a masked round a hospital dropped out of: the survivors reveal their shares, the round closes', async () => {
    const p = platform!;
    const [h1, h2, h3] = hospitals;
    const recorded = countingRunner(p.jobs);
    // h3's round-1 job dies after the round fixed its masking participants: h1 and h2 masked against it.
    const jobs: JobRunner = {
      run: (request) =>
        request.env.HIMAS_JOB_MODE === 'train' &&
        request.env.HIMAS_ROUND === '1' &&
        request.env.HIMAS_HOSPITAL_ID === h3
          ? Promise.resolve({
              executionId: 'lost',
              jobName: request.jobName,
              status: 'failed',
              attempts: 1,
              error: 'node lost',
              durationSeconds: 0,
            })
          : recorded.run(request),
    };
    // Two survivors of three: a sum of two is allowed only with hospital-level noise and the
    // minimum lowered knowingly (the default minimum of 3 refuses quorum 2).
    const config = TrainingConfigSchema.parse({
      ...CONFIG,
      rounds: 1,
      quorum: 2,
      noiseMultiplier: 1,
      secureAggregationMinHospitals: 2,
    });
    const outcome = await runTrainingWorkflow(
      { ...p, jobs },
      { runId: 'wf-drop', hospitals, config, dataDir, declaredTrainStays, resume: false },
    );
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({ rounds: [{ round: 1, status: 'closed' }] }),
    });
    expect(recorded.calls.filter((c) => c.startsWith('reveal:')).sort()).toEqual([
      `reveal:1:${h1}`,
      `reveal:1:${h2}`,
    ]);
    const round1 = (await p.lifecycle.getRound('wf-drop', 1))!;
    expect(round1).toMatchObject({ droppedHospitals: [h3], participants: [h1, h2] });
    expect(round1.masking?.participants).toEqual(hospitals);
    expect(round1.failureReason).toBeNull();
    // Generous: on a loaded shared machine one workflow run takes 30-130 s under jest, masked or not.
  }, 300_000);

  it('finishes a run in which no round closed as failed, not completed', async () => {
    const p = platform!;
    // Every hospital's training job fails: round 1 closes with no update, nothing is trained.
    const jobs: JobRunner = {
      run: (request) =>
        request.env.HIMAS_JOB_MODE === 'train'
          ? Promise.resolve({
              executionId: 'refused',
              jobName: request.jobName,
              status: 'failed',
              attempts: 1,
              error: 'refuses to train',
              durationSeconds: 0,
            })
          : p.jobs.run(request),
    };
    const config = TrainingConfigSchema.parse({ ...CONFIG, rounds: 1 });
    const outcome = await runTrainingWorkflow(
      { ...p, jobs },
      { runId: 'wf-none', hospitals, config, dataDir, declaredTrainStays, resume: false },
    );
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({ status: 'failed', rounds: [{ round: 1, status: 'failed' }] }),
    });
    expect((await p.lifecycle.getRun('wf-none'))?.status).toBe('failed');
  });

  it('refuses a fresh run with an existing id, naming resume', async () => {
    const p = platform!;
    await p.lifecycle.createRun({
      runId: 'wf-twice',
      config: CONFIG,
      hospitals,
      dataSource: { kind: 'csv', location: dataDir },
      declaredTrainStays,
    });
    const outcome = await run(p, p.jobs, 'wf-twice');
    expect(outcome.ok).toBe(false);
    expect(JSON.stringify(outcome)).toMatch(/already exists \(pass resume: true to continue it\)/);
  });

  it('stops before the next round when the run is halted and finishes as halted', async () => {
    const p = platform!;
    await p.lifecycle.createRun({
      runId: 'wf-halt',
      config: CONFIG,
      hospitals,
      dataSource: { kind: 'csv', location: dataDir },
      declaredTrainStays,
    });
    await p.stack.documents.update(paths.run('wf-halt'), {
      halt: { reason: 'converged', by: 'test', at: new Date().toISOString() },
    });
    const jobs = countingRunner(p.jobs);
    const outcome = await run(p, jobs, 'wf-halt', true);
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({ status: 'halted', haltReason: 'converged', rounds: [] }),
    });
    expect(jobs.calls.some((c) => c.startsWith('train:'))).toBe(false);
  });
});
