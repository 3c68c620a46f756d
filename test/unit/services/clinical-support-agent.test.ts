import type { EventOf } from '../../../schemas/events';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { memoryLogger, silentLogger } from '../../../src/logging/logger';
import { ClinicalSupportAgent } from '../../../src/services/clinical-support-agent';
import { PrivacyGuardianAgent } from '../../../src/services/privacy-guardian-agent';
import { hospitalLevelGuarantee, roundPrivacyEvent } from '../../../src/services/privacy-guarantee';
import { haltRunOnce } from '../../../src/services/run-halt';
import {
  craftUpdate,
  deltaWithNorm,
  setUpRun,
  smallCohort,
  SMALL_CONFIG,
  type RunFixture,
} from './service-fixture';

jest.setTimeout(60_000);

let fx: RunFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** A real test stay of the fixture's cohort, as a client would post it. */
function stayBody(): Record<string, unknown> {
  const record = smallCohort().hospitals[0].test[0];
  return { stay_id: record.stay_id, first_careunit: record.first_careunit, ...record.features };
}

async function closeRound(f: RunFixture, round: number): Promise<EventOf<'model.published'>> {
  await f.lifecycle.openRound(f.runId, round);
  for (const [k, hospitalId] of f.hospitals.entries())
    await f.aggregator.handle(
      await craftUpdate(f, hospitalId, deltaWithNorm(f.numParameters, 1, 10 * round + k), { round }),
    );
  const published = f.bus.ofType('model.published').filter((e) => e.round === round);
  expect(published).toHaveLength(1);
  return published[0];
}

const delivery = (event: EventOf<'model.published'>) => ({ data: JSON.stringify(event) });

function agents(f: RunFixture) {
  const deps = { documents: f.stack.documents, models: f.models, logger: silentLogger };
  const guardian = new PrivacyGuardianAgent({
    ...deps,
    blobs: f.stack.blobs,
    events: f.bus,
    warehouse: f.stack.warehouse,
    clock: f.clock,
  });
  return { guardian, clinical: new ClinicalSupportAgent(deps) };
}

describe('ClinicalSupportAgent', () => {
  it('never serves a version the privacy guardian halted, even one it had loaded, and falls back to the newest servable one', async () => {
    // The budget is what two rounds spend, so the guardian halts the run at round 2.
    const config = TrainingConfigSchema.parse({ ...SMALL_CONFIG, noiseMultiplier: 1, epsilonBudget: null });
    const event = roundPrivacyEvent(config, 3, 3);
    const budget = hospitalLevelGuarantee(config, [event, event], 1).epsilon!;
    fx = await setUpRun({ noiseMultiplier: 1, epsilonBudget: budget });
    const { guardian, clinical } = agents(fx);

    const first = await closeRound(fx, 1);
    await guardian.handle(delivery(first));
    await clinical.handle(delivery(first));
    expect(clinical.currentVersionId).toBe(`${fx.runId}-r0001`);

    const second = await closeRound(fx, 2);
    // The clinical agent hears of round 2 before the guardian has ruled on it: it loads it...
    await clinical.handle(delivery(second));
    expect(clinical.currentVersionId).toBe(`${fx.runId}-r0002`);
    // ...and once the guardian halts it, the next answer comes from round 1.
    await guardian.handle(delivery(second));
    expect((await fx.models.get(`${fx.runId}-r0002`))?.halted).toBe(true);
    const answer = await clinical.predict(stayBody());
    expect(answer.status).toBe(200);
    expect(answer.body.model).toEqual({
      versionId: `${fx.runId}-r0001`,
      runId: fx.runId,
      round: 1,
      calibration: null,
    });
    expect(clinical.currentVersionId).toBe(`${fx.runId}-r0001`);
    const privacy = answer.body.privacy as { unit: string; epsilon: number; delta: number }[];
    expect(privacy).toEqual([
      expect.objectContaining({ unit: 'hospital', delta: 1e-5, steps: 1 }),
      // No DP-SGD in this fixture: the patient-level guarantee is stated, and it is ∞.
      expect.objectContaining({ unit: 'patient', epsilon: null }),
    ]);
    expect(privacy[0].epsilon).toBeGreaterThan(0);
    expect(privacy[0].epsilon).toBeLessThan(budget);
    expect(answer.body.privacyStatements).toEqual([
      expect.stringMatching(/^hospital-level ε = \d/),
      expect.stringMatching(/^patient-level ε = ∞/),
    ]);
    const risk = answer.body.risk as number;
    expect(risk).toBeGreaterThan(0);
    expect(risk).toBeLessThan(1);

    // A new instance (cold start, no event yet) makes the same choice.
    const cold = agents(fx).clinical;
    expect(((await cold.predict(stayBody())).body.model as { versionId: string }).versionId).toBe(
      `${fx.runId}-r0001`,
    );

    // With round 1 halted too, nothing of the run can be served: 503 with the reason.
    await fx.models.annotate(`${fx.runId}-r0001`, { halted: true });
    const refused = await clinical.predict(stayBody());
    expect(refused.status).toBe(503);
    expect(String(refused.body.reason)).toMatch(/r0001 \(halted by the privacy guardian\)/);
    expect(clinical.currentVersionId).toBeNull();
  });

  it('answers 503 while only the untrained initial model exists, or when the run was halted by the guardian with no version marked', async () => {
    fx = await setUpRun();
    const { clinical } = agents(fx);
    const early = await clinical.predict(stayBody());
    expect(early.status).toBe(503);
    expect(String(early.body.reason)).toMatch(/initial, untrained model/);

    await closeRound(fx, 1);
    expect((await clinical.predict(stayBody())).status).toBe(200);
    await haltRunOnce(fx.stack.documents, fx.runId, {
      reason: 'budget',
      by: 'agent:privacy-guardian',
      at: fx.clock.now().toISOString(),
    });
    const refused = await clinical.predict(stayBody());
    expect(refused.status).toBe(503);
    expect(String(refused.body.reason)).toMatch(
      /halted by the privacy guardian .* no version is marked halted/,
    );
  });

  it('still serves after a convergence halt (the orchestrator stops training, not the model)', async () => {
    fx = await setUpRun();
    await closeRound(fx, 1);
    await haltRunOnce(fx.stack.documents, fx.runId, {
      reason: 'plateau',
      by: 'agent:orchestrator',
      at: fx.clock.now().toISOString(),
    });
    expect((await agents(fx).clinical.predict(stayBody())).status).toBe(200);
  });

  it('400 names each bad field, before looking for a model', async () => {
    fx = await setUpRun();
    const { clinical } = agents(fx);
    const answer = await clinical.predict({ ...stayBody(), lactate: 2, heart_rate_mean: 'fast' });
    expect(answer.status).toBe(400);
    const issues = answer.body.issues as { path: string; message: string }[];
    expect(issues.map((i) => i.path).sort()).toEqual(['(body)', 'heart_rate_mean']);
    expect(String(answer.body.error)).toMatch(/unknown field\(s\) lactate/);
  });

  it('uses a configured language model for the narrative without sending it identifiers or values, and the template when it fails', async () => {
    fx = await setUpRun();
    await closeRound(fx, 1);
    const sent: string[] = [];
    const body = { ...stayBody(), stay_id: 'bed-7-smith', lactate_max: 4.4 };
    const clinical = new ClinicalSupportAgent({
      documents: fx.stack.documents,
      models: fx.models,
      logger: silentLogger,
      languageModel: {
        name: 'fake-lm',
        generate: async (request) => {
          sent.push(request.prompt, request.system);
          return 'A rephrased note [1].';
        },
      },
    });
    const answer = await clinical.predict(body);
    expect(answer.body.narrative).toMatchObject({ text: 'A rephrased note [1].', writer: 'fake-lm' });
    expect(sent.join('\n')).not.toContain('bed-7-smith');
    expect(sent.join('\n')).not.toContain('4.4');

    const logger = memoryLogger();
    const failing = new ClinicalSupportAgent({
      documents: fx.stack.documents,
      models: fx.models,
      logger,
      languageModel: {
        name: 'down',
        generate: async () => {
          throw new Error('quota');
        },
      },
    });
    const fallback = await failing.predict(body);
    expect(fallback.body.narrative).toMatchObject({ writer: 'template' });
    expect(logger.entries.map((e) => e.event)).toContain('agent.language-model-failed');
  });
});
