import { modelVersionId, paths, RunDocumentSchema } from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import type { Metrics } from '../../../schemas/metrics';
import { TrainingConfigSchema, type TrainingConfigInput } from '../../../schemas/training-config';
import { PRIVACY_AUDIT_TABLE, RUN_PROGRESS_TABLE } from '../../../schemas/warehouse';
import { silentLogger } from '../../../src/logging/logger';
import { makeEvent } from '../../../src/services/event-publishing';
import { OrchestratorAgent } from '../../../src/services/orchestrator-agent';
import { PrivacyGuardianAgent } from '../../../src/services/privacy-guardian-agent';
import { hospitalLevelGuarantee, roundPrivacyEvent } from '../../../src/services/privacy-guarantee';
import { craftUpdate, deltaWithNorm, setUpRun, SMALL_CONFIG, type RunFixture } from './service-fixture';

jest.setTimeout(30_000);

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

function agentsOf(f: RunFixture) {
  const deps = {
    documents: f.stack.documents,
    blobs: f.stack.blobs,
    events: f.bus,
    models: f.models,
    warehouse: f.stack.warehouse,
    clock: f.clock,
    logger: silentLogger,
  };
  return { guardian: new PrivacyGuardianAgent(deps), orchestrator: new OrchestratorAgent(deps) };
}

/** Opens round 1, sends every hospital's update and returns the model.published event. */
async function closeRoundOne(f: RunFixture): Promise<EventOf<'model.published'>> {
  await f.lifecycle.openRound(f.runId, 1);
  for (const [k, hospitalId] of f.hospitals.entries())
    await f.aggregator.handle(await craftUpdate(f, hospitalId, deltaWithNorm(f.numParameters, 1, k + 1)));
  const published = f.bus.ofType('model.published');
  expect(published).toHaveLength(1);
  return published[0];
}

/** Hospital-level ε after one round of DP-FedAvg with every hospital (noise multiplier z). */
function epsilonAfterOneRound(config: TrainingConfigInput): number {
  const parsed = TrainingConfigSchema.parse({ ...SMALL_CONFIG, ...config, epsilonBudget: null });
  return hospitalLevelGuarantee(parsed, [roundPrivacyEvent(parsed, 3, 3)], 1).epsilon!;
}

const guardianRows = (f: RunFixture) =>
  f.stack.warehouse.query(PRIVACY_AUDIT_TABLE, { where: { runId: f.runId }, orderBy: 'round' });
const runDoc = async (f: RunFixture) =>
  RunDocumentSchema.parse(await f.stack.documents.get(paths.run(f.runId)));

const NO_INTERVALS = {
  auroc: null,
  auprc: null,
  brier: null,
  observedExpectedRatio: null,
  calibrationSlope: null,
  loss: null,
};

describe('PrivacyGuardianAgent', () => {
  it('verifies a correct claim: one ok row, ε recomputed = claimed, no alert; a redelivery writes nothing more', async () => {
    fx = await setUpRun({ noiseMultiplier: 1 });
    const event = await closeRoundOne(fx);
    const { guardian } = agentsOf(fx);
    const data = JSON.stringify(event);
    await guardian.handle({ data });
    await guardian.handle({ data });
    const all = await guardianRows(fx);
    // One row per unit; the patient unit is ε = ∞ here (no DP-SGD), recomputed from the ledgers.
    expect(all.map((r) => [r.unit, r.level]).sort()).toEqual([
      ['hospital', 'ok'],
      ['patient', 'ok'],
    ]);
    const rows = all.filter((r) => r.unit === 'hospital');
    expect(rows[0]).toMatchObject({ level: 'ok', unit: 'hospital', round: 1, budgetEpsilon: null });
    expect(rows[0].recomputedEpsilon).toBeCloseTo(epsilonAfterOneRound({ noiseMultiplier: 1 }), 9);
    expect(rows[0].claimedEpsilon).toBe(event.data.privacy[0].epsilon);
    expect(fx.bus.ofType('privacy.alert')).toHaveLength(0);
    const audits = (await fx.stack.documents.list(paths.audits())).filter(
      (s) => s.data.actor === 'agent:privacy-guardian',
    );
    expect(audits).toHaveLength(1);
    expect((await runDoc(fx)).halt).toBeNull();
  });

  it('raises a critical alert on a claim that does not match the ledger, halts the run and the version', async () => {
    fx = await setUpRun({ noiseMultiplier: 1 });
    const event = await closeRoundOne(fx);
    const tampered = {
      ...event,
      data: { ...event.data, privacy: [{ ...event.data.privacy[0], epsilon: 0.5 }] },
    };
    const decision = await agentsOf(fx).guardian.check(tampered);
    expect(decision?.level).toBe('critical');
    expect(decision?.findings.map((f) => f.code)).toContain('epsilon-mismatch');
    const [alert] = fx.bus.ofType('privacy.alert');
    expect(alert.data).toMatchObject({ level: 'critical', unit: 'hospital' });
    expect(alert.id).toBe(`privacy.alert:critical:${event.data.modelVersionId}`);
    expect((await runDoc(fx)).halt).toMatchObject({ by: 'agent:privacy-guardian' });
    expect((await fx.models.get(event.data.modelVersionId))?.halted).toBe(true);
    expect((await guardianRows(fx))[0]).toMatchObject({ level: 'critical', claimedEpsilon: 0.5 });
  });

  it('warns at 80 % of the budget without halting', async () => {
    const epsilon = epsilonAfterOneRound({ noiseMultiplier: 1 });
    fx = await setUpRun({ noiseMultiplier: 1, epsilonBudget: epsilon / 0.85 });
    const event = await closeRoundOne(fx);
    await agentsOf(fx).guardian.handle({ data: JSON.stringify(event) });
    const [alert] = fx.bus.ofType('privacy.alert');
    expect(alert.data.level).toBe('warning');
    expect(alert.data.message).toMatch(/85\.0 % of the budget/);
    expect((await guardianRows(fx))[0].level).toBe('warning');
    expect((await runDoc(fx)).halt).toBeNull();
    expect((await fx.models.get(event.data.modelVersionId))?.halted).toBe(false);
  });

  it('halts at 100 % of the budget: run.halt set by the guardian and the version marked halted', async () => {
    const epsilon = epsilonAfterOneRound({ noiseMultiplier: 1 });
    fx = await setUpRun({ noiseMultiplier: 1, epsilonBudget: epsilon });
    const event = await closeRoundOne(fx);
    await agentsOf(fx).guardian.handle({ data: JSON.stringify(event) });
    expect(fx.bus.ofType('privacy.alert').map((a) => a.data.level)).toEqual(['halt']);
    const run = await runDoc(fx);
    expect(run.halt).toMatchObject({ by: 'agent:privacy-guardian' });
    expect(run.halt?.reason).toMatch(/has reached the budget/);
    expect((await fx.models.get(event.data.modelVersionId))?.halted).toBe(true);
  });
});

const metrics = (auroc: number, loss: number): Metrics => ({
  n: 600,
  positives: 60,
  auroc,
  auprc: null,
  brier: null,
  observedExpectedRatio: null,
  calibrationSlope: null,
  calibrationIntercept: null,
  loss,
});

/** Registers versions r1..rN (copies of r0) and gives r0..r(N-1) pooled metrics: r(N) is not evaluated yet. */
async function versionsWithMetrics(
  f: RunFixture,
  series: [number, number][],
): Promise<EventOf<'model.published'>> {
  const base = await f.models.load(f.baseVersionId);
  for (let round = 1; round < series.length + 1; round++) {
    const versionId = modelVersionId(f.runId, round);
    await f.models.register(
      { ...base.doc, versionId, round, parentVersionId: modelVersionId(f.runId, round - 1) },
      base.artifacts,
    );
  }
  for (const [round, [auroc, loss]] of series.entries())
    await f.models.annotate(modelVersionId(f.runId, round), {
      pooled: { metrics: metrics(auroc, loss), intervals: NO_INTERVALS, hospitals: f.hospitals, noiseStd: 0 },
    });
  const last = series.length;
  return makeEvent('model.published', {
    id: `model.published:${modelVersionId(f.runId, last)}`,
    runId: f.runId,
    round: last,
    time: f.clock.now(),
    data: {
      modelVersionId: modelVersionId(f.runId, last),
      parentVersionId: modelVersionId(f.runId, last - 1),
      artifactPath: base.doc.artifactPath,
      sha256: base.doc.sha256,
      participants: f.hospitals,
      privacy: base.doc.privacy,
    },
  });
}

describe('OrchestratorAgent', () => {
  it('declares convergence on a plateau (metrics one version behind) and sets the halt flag', async () => {
    fx = await setUpRun();
    const event = await versionsWithMetrics(fx, [
      [0.7, 0.5],
      [0.75, 0.45],
      [0.7505, 0.4498],
      [0.7506, 0.4497],
      [0.7504, 0.4499],
    ]);
    const { orchestrator } = agentsOf(fx);
    await orchestrator.handle({ data: JSON.stringify(event) });
    await orchestrator.handle({ data: JSON.stringify(event) });
    const rows = await fx.stack.warehouse.query(RUN_PROGRESS_TABLE, { where: { runId: fx.runId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ round: 5, converged: true, pooledAuroc: 0.7504, pooledLoss: 0.4499 });
    expect(rows[0].perHospital.map((h) => h.modelVersionId)).toEqual(
      fx.hospitals.map(() => modelVersionId(fx!.runId, 4)),
    );
    expect(rows[0].summary).toMatch(/Convergence: plateau over the last 3 versions \(rounds 2–4\)/);
    const run = await runDoc(fx);
    expect(run.halt).toMatchObject({ by: 'agent:orchestrator' });
    expect(run.halt?.reason).toMatch(/^converged: plateau/);
  });

  it('keeps going while the model still improves, and flags nobody without rounds', async () => {
    fx = await setUpRun();
    const event = await versionsWithMetrics(fx, [
      [0.7, 0.5],
      [0.72, 0.48],
      [0.74, 0.46],
      [0.76, 0.44],
      [0.78, 0.42],
    ]);
    const decision = await agentsOf(fx).orchestrator.track(event);
    expect(decision?.plateau.converged).toBe(false);
    expect(decision?.row.lateHospitals).toEqual([]);
    expect((await runDoc(fx)).halt).toBeNull();
  });

  it('makes no decision before any version is evaluated', async () => {
    fx = await setUpRun({ noiseMultiplier: 0 });
    const event = await closeRoundOne(fx);
    const decision = await agentsOf(fx).orchestrator.track(event);
    // r0 was evaluated by the round-1 updates (the fixture's hospitals report a tiny evaluation).
    expect(decision?.row.converged).toBe(false);
    expect(decision?.row.perHospital.every((h) => h.recent.join() === 'accepted')).toBe(true);
    expect(decision?.plateau.reason).toMatch(/version\(s\), at least 4 needed/);
  });
});

/**
 * Attacks on the patient-level claim (privacy issue: "the privacy guardian recomputes totals from
 * the ledgers' own entries and halts when a claim is below the recomputation"). The fixture's
 * hospitals run DP-SGD's accounting (a reservation and a use per round in their signed ledgers).
 */
describe('PrivacyGuardianAgent against patient-level claims', () => {
  jest.setTimeout(120_000);
  it('halts (critical) a version whose patient-level claim is below what the signed ledgers give', async () => {
    fx = await setUpRun({ patientPrivacy: 'dp-sgd' });
    const honest = await closeRoundOne(fx);
    const claim = honest.data.privacy.find((g) => g.unit === 'patient')!;
    expect(claim.epsilon).toBeGreaterThan(0.99);
    const lowered = {
      ...honest,
      data: {
        ...honest.data,
        privacy: honest.data.privacy.map((g) => (g.unit === 'patient' ? { ...g, epsilon: 0.2 } : g)),
      },
    };
    const { guardian } = agentsOf(fx);
    const decision = await guardian.check(lowered);
    expect(decision?.level).toBe('critical');
    expect(decision?.findings.map((f) => f.code)).toContain('epsilon-mismatch');
    expect(decision?.message).toMatch(
      /patient-level ε claimed 0\.2000 is below what the hospitals' ledgers give, 1\.0000/,
    );
    expect((await runDoc(fx)).halt?.by).toBe('agent:privacy-guardian');
  });

  it('accepts the honest claim, recomputed from the ledgers exactly', async () => {
    fx = await setUpRun({ patientPrivacy: 'dp-sgd' });
    const honest = await closeRoundOne(fx);
    const decision = await agentsOf(fx).guardian.check(honest);
    const patient = decision!.units.find((u) => u.unit === 'patient')!;
    expect(decision!.level).toBe('ok');
    expect(patient.recomputedEpsilon).toBeCloseTo(patient.claimedEpsilon!, 9);
  });

  it('halts (critical) when a published ledger entry was altered: the chain does not verify', async () => {
    fx = await setUpRun({ patientPrivacy: 'dp-sgd' });
    const honest = await closeRoundOne(fx);
    const h1 = fx.hospitals[0];
    const name = `ledgers/${h1}/00000000.json`;
    const stored = JSON.parse(Buffer.from(await fx.stack.blobs.get(name)).toString('utf8'));
    stored.entry.mechanisms[0].noiseMultiplier *= 10; // "we added more noise than we did"
    await fx.stack.blobs.put(name, Buffer.from(JSON.stringify(stored)));
    const decision = await agentsOf(fx).guardian.check(honest);
    expect(decision?.level).toBe('critical');
    expect(decision?.findings.map((f) => f.code)).toContain('ledger-unverifiable');
    expect(decision?.message).toMatch(new RegExp(`entry 0 is not signed by ${h1}'s key`));
  });
});
