import type { HospitalPrivacy } from '../../../schemas/privacy';
import type { LedgerMechanism } from '../../../schemas/privacy-ledger';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import {
  computeEpsilon,
  gaussianEvent,
  poissonSampledEvent,
  selfComposedEvent,
} from '../../../src/core/privacy';
import {
  MissingDeclaredSizeError,
  planForHospital,
  plannedEvaluations,
  worstPatientGuarantee,
} from '../../../src/services/patient-privacy';

const hospital = (hospitalId: string, run: number | null, lifetime: number | null): HospitalPrivacy => ({
  hospitalId,
  unit: 'patient',
  delta: 1e-5,
  run: { epsilon: run, train: run, test: 0.5 },
  lifetime: { epsilon: lifetime, train: lifetime, test: 0.5 },
  budgetEpsilon: 3,
  mechanisms: [{ mechanism: 'dp-sgd', partitions: ['train'], epsilon: run, noiseMultiplier: 5 }],
  ledgerSequence: 3,
  ledgerSha256: 'ab'.repeat(32),
});

const sgd = (z: number): LedgerMechanism => ({
  mechanism: 'dp-sgd',
  partitions: ['train'],
  slot: 'train',
  uses: 5,
  perUse: gaussianEvent(z),
  event: gaussianEvent(z),
  noiseMultiplier: z,
  l2Sensitivity: 1,
  samplingProbability: 0.08,
  stepsPerUse: 48,
});

describe("a model version's patient-level guarantee", () => {
  it("is the least protected hospital's run total when their ε differ, with that hospital's settings", () => {
    const g = worstPatientGuarantee(
      [hospital('h1', 0.6, 1.2), hospital('h2', 0.95, 2.1), hospital('h3', 0.8, 0.8)],
      (h) => sgd(h === 'h2' ? 7 : 5),
      1,
    )!;
    expect(g).toMatchObject({
      unit: 'patient',
      epsilon: 0.95,
      hospitalId: 'h2',
      lifetimeEpsilon: 2.1,
      noiseMultiplier: 7,
    });
    expect(g.steps).toBe(240);
  });

  it('is ∞ (null) as soon as one participant trained without DP-SGD', () => {
    const g = worstPatientGuarantee(
      [hospital('h1', 0.6, 0.6), hospital('h2', null, null), hospital('h3', 0.9, 0.9)],
      () => undefined,
      1,
    )!;
    expect(g.epsilon).toBeNull();
    expect(g.hospitalId).toBe('h2');
  });

  it('is absent with no participant', () => {
    expect(worstPatientGuarantee([], () => undefined, 1)).toBeNull();
  });
});

describe("a run's plan for one hospital", () => {
  const config = TrainingConfigSchema.parse({ rounds: 5 });

  it("needs the hospital's declared (public) cohort size: never a count of its records", () => {
    expect(() => planForHospital(config, undefined, 'h1')).toThrow(MissingDeclaredSizeError);
    expect(() => planForHospital(config, undefined, 'h1')).toThrow(/no declared cohort size for hospital h1/);
  });

  it('puts DP-SGD on the train split and the final evaluation on the test split, each within the target', () => {
    const plan = planForHospital(config, 1500, 'h1');
    expect(plan.mechanisms.map((m) => [m.mechanism, m.partitions.join('+'), m.uses])).toEqual([
      ['dp-sgd', 'train', 5],
      ['evaluation', 'test', 1],
    ]);
    expect(plan.partitions.train.epsilon).toBeLessThanOrEqual(1);
    expect(plan.partitions.train.epsilon).toBeGreaterThan(0.999);
    expect(plan.partitions.test.epsilon).toBeLessThanOrEqual(1);
    expect(plan.epsilon).toBe(Math.max(plan.partitions.train.epsilon, plan.partitions.test.epsilon));
    const dp = plan.mechanisms[0];
    expect(dp.samplingProbability).toBeCloseTo(128 / 1500, 12);
    expect(dp.stepsPerUse).toBe(48); // round(1500/128) × 4 epochs
  });

  it('charges the releases to both splits and shrinks DP-SGD and the evaluation to pay for them', () => {
    const alone = planForHospital(config, 1500, 'h1');
    const withReleases = planForHospital(
      TrainingConfigSchema.parse({
        rounds: 5,
        surveillanceNoiseMultiplier: 20,
        treatmentNoiseMultiplier: 20,
      }),
      1500,
      'h1',
    );
    const z = (p: typeof alone, kind: string) =>
      p.mechanisms.find((m) => m.mechanism === kind)!.noiseMultiplier;
    expect(z(withReleases, 'dp-sgd')).toBeGreaterThan(z(alone, 'dp-sgd'));
    expect(z(withReleases, 'evaluation')).toBeGreaterThan(z(alone, 'evaluation'));
    expect(withReleases.epsilon).toBeLessThanOrEqual(1);
    for (const kind of ['surveillance', 'treatment'])
      expect(withReleases.mechanisms.find((m) => m.mechanism === kind)!.partitions).toEqual([
        'train',
        'test',
      ]);
  });

  it('evaluates every round only when asked, splitting the test budget over more releases', () => {
    expect(plannedEvaluations({ rounds: 5, evaluateEveryRound: false })).toBe(1);
    expect(plannedEvaluations({ rounds: 5, evaluateEveryRound: true })).toBe(6);
    const every = planForHospital(
      TrainingConfigSchema.parse({ rounds: 5, evaluateEveryRound: true }),
      1500,
      'h1',
    );
    const evaluation = every.mechanisms.find((m) => m.mechanism === 'evaluation')!;
    expect(evaluation.uses).toBe(6);
    expect(evaluation.noiseMultiplier).toBeGreaterThan(
      planForHospital(config, 1500, 'h1').mechanisms[1].noiseMultiplier * 2,
    );
  });

  it('states ε = ∞ for training without DP-SGD', () => {
    const plan = planForHospital(
      TrainingConfigSchema.parse({ rounds: 2, patientPrivacy: 'none' }),
      1500,
      'h1',
    );
    expect(plan.mechanisms[0].mechanism).toBe('unprotected-training');
    expect(plan.epsilon).toBe(Infinity);
    expect(plan.partitions.test.epsilon).toBeLessThanOrEqual(1); // test-split patients keep theirs
  });
});

describe('the accountant never rounds a guarantee down to nothing', () => {
  it('gives ε > 0 for a Gaussian with z = 1000 at δ = 1e-5, and for its sampled composition', () => {
    const single = computeEpsilon(gaussianEvent(1000), 1e-5).epsilon;
    expect(single).toBeGreaterThan(0);
    expect(single).toBeLessThan(0.01);
    const sampled = computeEpsilon(
      selfComposedEvent(poissonSampledEvent(0.01, gaussianEvent(1000)), 100),
      1e-5,
    ).epsilon;
    expect(sampled).toBeGreaterThan(0);
  });
});
