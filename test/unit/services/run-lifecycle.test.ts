import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { hospitalStateDir, localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import { referencePreprocessor } from '../../../src/core/data';
import { loadHimasModel } from '../../../src/services/model-artifacts';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths } from '../../../schemas/documents';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { initializeBackend } from '../../../src/core/model';
import { silentLogger } from '../../../src/logging/logger';
import { runHospitalJob } from '../../../src/services/hospital-job';
import { enrolSimulatedHospitals } from '../../../src/services/hospital-enrolment';
import { RunLifecycle } from '../../../src/services/run-lifecycle';
import {
  manualClock,
  memoryCohortSource,
  recordingBus,
  SMALL_CONFIG,
  smallCohort,
  type ManualClock,
  type RecordingBus,
} from './service-fixture';

jest.setTimeout(60_000);

beforeAll(async () => {
  await initializeBackend('auto');
});

interface Ctx {
  home: string;
  stack: EmbeddedStack;
  bus: RecordingBus;
  clock: ManualClock;
  models: DocumentModelRegistry;
  lifecycle: RunLifecycle;
  hospitals: string[];
  shareStatistics(runId: string, hospitalId: string): Promise<unknown>;
}

let ctx: Ctx | undefined;

async function open(): Promise<Ctx> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'himas-lifecycle-'));
  const stack = await openEmbeddedStack(home);
  const bus = recordingBus(stack.events);
  const clock = manualClock();
  const models = new DocumentModelRegistry(stack.documents, stack.blobs);
  const ports = { documents: stack.documents, blobs: stack.blobs, events: bus, models };
  const lifecycle = new RunLifecycle({ ...ports, clock, logger: silentLogger });
  const cohort = smallCohort();
  const jobDeps = {
    ...ports,
    cohorts: memoryCohortSource(cohort),
    clock,
    logger: silentLogger,
    keys: new FileHospitalKeyStore(path.join(home, 'keys')),
    ledger: localHospitalLedger(hospitalStateDir(home)),
  };
  ctx = {
    home,
    stack,
    bus,
    clock,
    models,
    lifecycle,
    hospitals: cohort.hospitals.map((h) => h.hospitalId),
    shareStatistics: async (runId, hospitalId) => {
      // The operator enrols the hospital first (a job never enrols itself).
      await enrolSimulatedHospitals(
        { documents: stack.documents, clock, operator: 'operator:test', keys: jobDeps.keys },
        [hospitalId],
      );
      return runHospitalJob({ mode: 'stats', runId, hospitalId, taskAttempt: 0 }, jobDeps);
    },
  };
  return ctx;
}

afterEach(async () => {
  if (ctx) {
    await ctx.stack.close();
    rmSync(ctx.home, { recursive: true, force: true });
    ctx = undefined;
  }
});

async function createRun(c: Ctx, runId = 'life-1', config = {}) {
  return c.lifecycle.createRun({
    runId,
    config: TrainingConfigSchema.parse({ ...SMALL_CONFIG, ...config }),
    hospitals: c.hospitals,
    dataSource: { kind: 'csv', location: '/data' },
    declaredTrainStays: Object.fromEntries(c.hospitals.map((h) => [h, 150])),
  });
}

describe('RunLifecycle.createRun', () => {
  it('creates a running run at round 0 with an ε = 0 hospital-level guarantee', async () => {
    const c = await open();
    const run = await createRun(c);
    expect(run).toMatchObject({
      runId: 'life-1',
      status: 'running',
      currentRound: 0,
      ledger: [],
      halt: null,
    });
    expect(run.privacy).toHaveLength(1);
    expect(run.privacy[0]).toMatchObject({ unit: 'hospital', epsilon: 0, steps: 0 });
    expect(await c.lifecycle.getRun('life-1')).toEqual(run);
  });

  it('refuses to create the same run twice and names --resume', async () => {
    const c = await open();
    const first = await createRun(c);
    c.clock.advance(5_000);
    await expect(createRun(c, 'life-1', { rounds: 9 })).rejects.toThrow(
      'run life-1 already exists (use --resume life-1 to continue it)',
    );
    expect(await c.lifecycle.getRun('life-1')).toEqual(first);
  });
});

describe('RunLifecycle.createRun: declared cohort sizes', () => {
  it("refuses a run that does not declare every hospital's (public) cohort size", async () => {
    const c = await open();
    await expect(
      c.lifecycle.createRun({
        runId: 'life-undeclared',
        config: TrainingConfigSchema.parse(SMALL_CONFIG),
        hospitals: c.hospitals,
        dataSource: { kind: 'csv', location: '/data' },
        declaredTrainStays: { [c.hospitals[0]]: 150 },
      }),
    ).rejects.toThrow(new RegExp(`no declared cohort size for ${c.hospitals[1]}, ${c.hospitals[2]}`));
    expect(await c.lifecycle.getRun('life-undeclared')).toBeUndefined();
  });
});

describe('RunLifecycle.initializeModel', () => {
  it('builds version r0000 once from public reference values, reading nothing from any hospital', async () => {
    const c = await open();
    const run = await createRun(c);
    const first = await c.lifecycle.initializeModel(run);
    expect(first).toMatchObject({
      versionId: 'life-1-r0000',
      round: 0,
      parentVersionId: null,
      participants: [],
      pooled: null,
      halted: false,
    });
    expect(first.modelSpec).toEqual({ kind: 'mlp', inputDim: first.featureNames.length, hiddenUnits: [8] });
    const { artifacts } = await c.models.load(first.versionId);
    expect(artifacts.weights.byteLength).toBe(first.numParameters * 4);
    const { preprocessor, model } = await loadHimasModel(artifacts);
    model.dispose();
    // The preprocessor is the public reference, byte for byte: no hospital statistic entered it.
    expect(preprocessor).toEqual(referencePreprocessor());
    expect(JSON.stringify(artifacts.modelJson)).not.toMatch(/trainingRows/);
    // No job ran and nothing was read: not a single event or ledger entry exists.
    expect(c.bus.published).toHaveLength(0);
    expect(await c.stack.blobs.list('ledgers/')).toEqual([]);

    c.clock.advance(60_000);
    const second = await c.lifecycle.initializeModel(run);
    expect(second).toEqual(first);
    expect(await c.models.list(run.runId)).toHaveLength(1);
    expect((await c.lifecycle.getRun(run.runId))!.latestModelVersionId).toBe('life-1-r0000');
  });
});

describe('RunLifecycle rounds', () => {
  it('will not open a round of an unknown run or of a run without a model', async () => {
    const c = await open();
    await expect(c.lifecycle.openRound('ghost', 1)).rejects.toThrow('run ghost does not exist');
    await createRun(c);
    await expect(c.lifecycle.openRound('life-1', 1)).rejects.toThrow(
      'run life-1 has no model to start round 1 from',
    );
  });

  it('opens a round once: the second call returns the same document; announcements share one event id', async () => {
    const c = await open();
    const run = await createRun(c, 'life-1', { quorum: 2, deadlineSeconds: 90 });
    for (const h of c.hospitals) await c.shareStatistics(run.runId, h);
    await c.lifecycle.initializeModel(run);

    const first = await c.lifecycle.startRound('life-1', 1);
    expect(first).toMatchObject({
      status: 'open',
      expectedHospitals: c.hospitals,
      quorum: 2,
      baseModelVersionId: 'life-1-r0000',
      lease: null,
    });
    expect(new Date(first.deadline).getTime() - new Date(first.openedAt).getTime()).toBe(90_000);
    c.clock.advance(30_000);
    const second = await c.lifecycle.startRound('life-1', 1);
    expect(second).toEqual(first);

    // Re-announcing after a crash is harmless: the event id is the same, consumers dedupe on it.
    const started = c.bus.ofType('round.started');
    expect(new Set(started.map((e) => e.id)).size).toBe(1);
    expect(started[0].id).toBe('round.started:life-1:1');
    expect(started[0].data).toEqual({
      expectedHospitals: c.hospitals,
      baseModelVersionId: 'life-1-r0000',
      deadline: first.deadline,
    });
  });

  it('caps the quorum at the number of hospitals', async () => {
    const c = await open();
    const run = await createRun(c, 'life-1', { quorum: 50 });
    for (const h of c.hospitals) await c.shareStatistics(run.runId, h);
    await c.lifecycle.initializeModel(run);
    expect((await c.lifecycle.openRound('life-1', 1)).quorum).toBe(3);
  });

  it('signals a deadline only for a round that exists, and finishes a run', async () => {
    const c = await open();
    const run = await createRun(c);
    for (const h of c.hospitals) await c.shareStatistics(run.runId, h);
    await c.lifecycle.initializeModel(run);
    await c.lifecycle.signalDeadline('life-1', 1);
    expect(c.bus.ofType('round.deadline')).toHaveLength(0);
    const round = await c.lifecycle.openRound('life-1', 1);
    await c.lifecycle.signalDeadline('life-1', 1);
    const deadlines = c.bus.ofType('round.deadline');
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]).toMatchObject({
      id: 'round.deadline:life-1:1',
      round: 1,
      data: { deadline: round.deadline },
    });

    c.clock.advance(1_000);
    await c.lifecycle.finishRun('life-1', 'completed');
    const finished = (await c.lifecycle.getRun('life-1'))!;
    expect(finished.status).toBe('completed');
    expect(finished.completedAt).toBe(c.clock.now().toISOString());
    expect(await c.stack.documents.get(paths.round('life-1', 1))).toBeDefined();
  });
});
