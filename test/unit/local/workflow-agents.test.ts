import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingConfigSchema, type TrainingConfigInput } from '../../../schemas/training-config';
import { PRIVACY_AUDIT_TABLE, RUN_PROGRESS_TABLE } from '../../../schemas/warehouse';
import { writeCohort } from '../../../src/cli/cohort-files';
import { agentsCommand } from '../../../src/cli/commands/agents';
import { generateCohort } from '../../../src/core/data';
import { initializeBackend } from '../../../src/core/model';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../../src/local/embedded-platform';
import { runTrainingWorkflow } from '../../../src/local/workflow-training';
import { silentLogger } from '../../../src/logging/logger';

jest.setTimeout(60_000);

/**
 * The agents end to end: workflows/federated-training.yaml on the local engine, the real
 * aggregation and agent functions subscribed to the embedded bus, hospital jobs in process.
 */
describe('the agents during a training workflow', () => {
  let home: string;
  let dataDir: string;
  let hospitals: string[];
  let platform: EmbeddedPlatform | undefined;
  let declaredTrainStays: Record<string, number>;

  beforeAll(async () => {
    await initializeBackend('auto');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'himas-agents-data-'));
    const cohort = generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 3 });
    hospitals = cohort.hospitals.map((h) => h.hospitalId);
    declaredTrainStays = Object.fromEntries(cohort.hospitals.map((h) => [h.hospitalId, h.train.length]));
    await writeCohort(cohort, dataDir);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-agents-'));
    platform = await openEmbeddedPlatform({ home, dataDir, logger: silentLogger, jobs: 'in-process' });
  });
  afterEach(async () => {
    await platform?.close();
    platform = undefined;
    rmSync(home, { recursive: true, force: true });
  });

  const train = (runId: string, config: TrainingConfigInput) =>
    runTrainingWorkflow(platform!, {
      runId,
      hospitals,
      // Hospital-level agents under test: patient-level DP-SGD (the default) has its own tests.
      config: TrainingConfigSchema.parse({
        localEpochs: 1,
        hiddenUnits: [4],
        batchSize: 128,
        patientPrivacy: 'none',
        ...config,
      }),
      dataDir,
      declaredTrainStays,
      resume: false,
    });

  it('the privacy guardian writes one audit row per closed round, ε recomputed equal to the claim', async () => {
    // Noise 0 (ε = ∞ claimed and recomputed): with noise > 0 the local run currently fails rounds
    // after the first, for a reason outside the agents (see the report of issue 7's agents pass).
    const outcome = await train('agents-audit', { rounds: 3 });
    expect(outcome).toEqual({ ok: true, result: expect.objectContaining({ status: 'completed' }) });
    await platform!.stack.events.idle();
    const rows = await platform!.stack.warehouse.query(PRIVACY_AUDIT_TABLE, {
      where: { runId: 'agents-audit' },
      orderBy: 'round',
    });
    // One row per unit: hospital level (no noise) and patient level (no DP-SGD: ε = ∞ by the
    // operator's choice, recomputed from the hospitals' signed ledgers, not a budget overrun).
    expect(rows.map((r) => [r.round, r.modelVersionId, r.unit, r.level]).sort()).toEqual(
      [1, 2, 3]
        .flatMap((round) => [
          [round, `agents-audit-r000${round}`, 'hospital', 'ok'],
          [round, `agents-audit-r000${round}`, 'patient', 'ok'],
        ])
        .sort(),
    );
    for (const row of rows) {
      expect(row).toMatchObject({ claimedEpsilon: null, recomputedEpsilon: null, findings: [] });
    }
    const progress = await platform!.stack.warehouse.query(RUN_PROGRESS_TABLE, {
      where: { runId: 'agents-audit' },
    });
    expect(progress).toHaveLength(3);
  });

  it('the orchestrator stops a long run early when learning has stalled', async () => {
    // A local learning rate of 1e-7 leaves the model where it started, so the exact pooled AUROC
    // and loss are flat and the plateau rule (window 3, at least 4 evaluated versions) can fire as
    // soon as version r0003 is evaluated. Every round's model is evaluated (evaluateEveryRound),
    // with a generous test-split budget (ε = 100 per run) so the evaluations' DP noise is small
    // enough for a plateau to be seen as one; at the default ε = 1 it is not (the orchestrator's
    // caveat). An MLP, not the default logistic model: that one starts at zero weights, where the
    // tiniest noisy step decides the whole ranking, so its AUROC jumps however little it learns.
    const outcome = await train('agents-stall', {
      rounds: 30,
      model: 'mlp',
      hiddenUnits: [8],
      localLearningRate: 1e-7,
      evaluateEveryRound: true,
      patientTargetEpsilon: 100,
      patientBudgetEpsilon: 200,
    });
    expect(outcome).toEqual({
      ok: true,
      result: expect.objectContaining({
        status: 'halted',
        haltReason: expect.stringMatching(/^converged: plateau/),
      }),
    });
    await platform!.stack.events.idle();
    const run = await platform!.lifecycle.getRun('agents-stall');
    expect(run?.halt?.by).toBe('agent:orchestrator');
    // The plateau needs 4 evaluated versions, so round 4 is the earliest stop. The evaluations are
    // DP releases even here (noise SD ≈ 0.04 on a near-chance AUROC of 150 test stays), so a window
    // can look like an improvement by chance and the stop comes a few windows later in some runs;
    // the bound keeps the test about the behaviour: it stops long before the 30 rounds asked for.
    const stoppedAt = run!.currentRound;
    expect(stoppedAt).toBeGreaterThanOrEqual(4);
    expect(stoppedAt).toBeLessThanOrEqual(20);
    const progress = await platform!.stack.warehouse.query(RUN_PROGRESS_TABLE, {
      where: { runId: 'agents-stall' },
      orderBy: 'round',
    });
    expect(progress).toHaveLength(stoppedAt);
    expect(progress.map((p) => p.converged)).toEqual([...Array<boolean>(stoppedAt - 1).fill(false), true]);
    expect(progress[stoppedAt - 1].summary).toMatch(/Halted by agent:orchestrator: converged: plateau/);

    // `himas agents` reads the same rows back (the store is shared in process).
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await agentsCommand.run(['agents-stall', '--home', home])).toBe(0);
      expect(await agentsCommand.run(['--home', home, '--json'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(written[0]).toMatch(/Run agents-stall: .*halted by agent:orchestrator/);
    expect(written[0]).toContain(`verdict: converged at agents-stall-r${String(stoppedAt).padStart(4, '0')}`);
    expect(written[0]).toMatch(/Run summary \(now that the run has ended\):\n {2}Run agents-stall: halted/);
    const json = JSON.parse(written[1]) as { runId: string; privacyAudit: unknown[]; progress: unknown[] };
    expect(json.runId).toBe('agents-stall');
    expect(json.privacyAudit).toHaveLength(2 * stoppedAt); // hospital and patient level, each version
    expect(json.progress).toHaveLength(stoppedAt);
  });
});
