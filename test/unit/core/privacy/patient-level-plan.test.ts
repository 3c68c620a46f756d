import {
  computeEpsilon,
  dpSgdPrivacyEvent,
  explainTrainingPlan,
  noiseToSignal,
  planPatientLevelDp,
  poissonSamplingPlan,
  type TrainingPlanInput,
} from '../../../../src/core/privacy';

describe('poissonSamplingPlan', () => {
  it('uses q = B/N and round(N/B) steps per epoch, capped at q = 1 and at least one step', () => {
    expect(poissonSamplingPlan(1000, 64)).toEqual({ samplingProbability: 0.064, stepsPerEpoch: 16 });
    expect(poissonSamplingPlan(1500, 64)).toEqual({ samplingProbability: 64 / 1500, stepsPerEpoch: 23 });
    expect(poissonSamplingPlan(30, 64)).toEqual({ samplingProbability: 1, stepsPerEpoch: 1 });
    expect(() => poissonSamplingPlan(0, 64)).toThrow(/datasetSize/);
    expect(() => poissonSamplingPlan(100, 1.5)).toThrow(/batchSize/);
  });
});

describe('planPatientLevelDp', () => {
  const base = {
    targetEpsilon: 1,
    delta: 1e-5,
    datasetSize: 1500,
    batchSize: 64,
    epochsPerRound: 2,
    rounds: 5,
  };

  it('calibrates z over every step of every round, reaching the target from below', () => {
    const plan = planPatientLevelDp(base);
    expect(plan.samplingProbability).toBeCloseTo(64 / 1500, 12);
    expect(plan.stepsPerRound).toBe(2 * 23);
    expect(plan.totalSteps).toBe(5 * 46);
    const recomputed = computeEpsilon(
      dpSgdPrivacyEvent(plan.samplingProbability, plan.noiseMultiplier, plan.totalSteps),
      1e-5,
    ).epsilon;
    expect(recomputed).toBeCloseTo(plan.epsilon, 12);
    expect(plan.epsilon).toBeLessThanOrEqual(1);
    expect(plan.epsilon).toBeGreaterThan(0.999);
    // 1 % less noise would overspend: z is the smallest that fits.
    const less = computeEpsilon(
      dpSgdPrivacyEvent(plan.samplingProbability, plan.noiseMultiplier * 0.99, plan.totalSteps),
      1e-5,
    ).epsilon;
    expect(less).toBeGreaterThan(1);
  });

  it('needs less noise for a larger hospital (each hospital plans with its own N) and more for more rounds', () => {
    const small = planPatientLevelDp({ ...base, datasetSize: 675 }).noiseMultiplier;
    const large = planPatientLevelDp({ ...base, datasetSize: 15000 }).noiseMultiplier;
    expect(large).toBeLessThan(small);
    expect(planPatientLevelDp({ ...base, rounds: 20 }).noiseMultiplier).toBeGreaterThan(
      planPatientLevelDp(base).noiseMultiplier,
    );
  });

  it('rejects impossible inputs', () => {
    expect(() => planPatientLevelDp({ ...base, rounds: 0 })).toThrow(/rounds/);
    expect(() => planPatientLevelDp({ ...base, epochsPerRound: 1.5 })).toThrow(/epochsPerRound/);
    expect(() => planPatientLevelDp({ ...base, delta: 1 })).toThrow(/delta/);
  });
});

describe('noiseToSignal', () => {
  it('is z·√d/m per step and that over √T for a run', () => {
    const r = noiseToSignal(0.5, 3, 4225, 10);
    expect(r.perStep).toBeCloseTo((0.5 * 65) / 3, 12);
    expect(r.overRun).toBeCloseTo((0.5 * 65) / 3 / Math.sqrt(10), 12);
  });
});

describe('explainTrainingPlan', () => {
  const hospitals = [
    { hospitalId: 'h1', trainRows: 1500 },
    { hospitalId: 'h2', trainRows: 1200 },
    { hospitalId: 'h3', trainRows: 675 },
  ];
  const seed: TrainingPlanInput = {
    rounds: 10,
    localEpochs: 2,
    batchSize: 64,
    delta: 1e-5,
    parameters: 4225,
    hospitals,
    patientTargetEpsilon: 1,
    aggregation: 'dp-fedavg',
    clipNorm: 2,
    noiseMultiplier: 0.5,
  };

  it("says the seed's hospital-level ε ≈ 48.8 (not 1.0) and that 3 hospitals' noise drowns the signal", () => {
    const plan = explainTrainingPlan(seed);
    expect(plan.hospitalLevel.epsilon).toBeCloseTo(48.8, 1);
    expect(plan.hospitalLevel.samplingProbability).toBe(1);
    expect(plan.hospitalLevel.noiseStdOnAverage).toBeCloseTo(1 / 3, 12);
    const hospitalLines = plan.lines.filter((l) => l.unit === 'hospital');
    expect(hospitalLines[0]).toMatchObject({ severity: 'info', text: expect.stringMatching(/ε = 48\.8\b/) });
    expect(hospitalLines.some((l) => l.severity === 'warning' && /drowns/.test(l.text))).toBe(true);
  });

  it('gives each hospital its own patient-level z for the same ε, without a drowning warning at these sizes', () => {
    const plan = explainTrainingPlan(seed);
    expect(plan.patientLevel!.map((p) => p.hospitalId)).toEqual(['h1', 'h2', 'h3']);
    const z = plan.patientLevel!.map((p) => p.noiseMultiplier!);
    expect(z[0]).toBeLessThan(z[1]);
    expect(z[1]).toBeLessThan(z[2]);
    for (const p of plan.patientLevel!) {
      expect(p.epsilon!).toBeLessThanOrEqual(1);
      expect(p.totalSteps).toBe(10 * 2 * Math.max(1, Math.round(p.trainRows / 64)));
    }
    expect(plan.lines.filter((l) => l.unit === 'patient' && l.severity === 'warning')).toEqual([]);
  });

  it('does not warn about drowning with many hospitals per round', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ hospitalId: `h${i}`, trainRows: 1000 }));
    const plan = explainTrainingPlan({
      ...seed,
      hospitals: many,
      patientTargetEpsilon: null,
      noiseMultiplier: 1,
    });
    expect(plan.hospitalLevel.noiseToSignal!.overRun).toBeLessThan(1);
    expect(plan.lines.some((l) => l.unit === 'hospital' && /drowns/.test(l.text))).toBe(false);
    expect(plan.patientLevel).toBeNull();
    expect(plan.lines.some((l) => l.unit === 'patient' && /no patient-level/.test(l.text))).toBe(true);
  });

  it('says there is no hospital-level guarantee without noise, and warns about a budget the plan exceeds', () => {
    const fedavg = explainTrainingPlan({ ...seed, aggregation: 'fedavg' });
    expect(fedavg.hospitalLevel.epsilon).toBeNull();
    expect(fedavg.lines.some((l) => l.unit === 'hospital' && /ε = ∞/.test(l.text))).toBe(true);
    const budget = explainTrainingPlan({ ...seed, epsilonBudget: 10 });
    expect(budget.lines.some((l) => /exceeds the budget 10/.test(l.text))).toBe(true);
  });

  it('reports an unreachable patient-level target as a warning, not a crash', () => {
    // A hospital smaller than a batch is sampled with q = 1 (no amplification): at δ = 1e-12,
    // ε = 1e-5 would need z far above the calibration's ceiling of 10^6.
    const tiny = [{ hospitalId: 'tiny', trainRows: 50 }, ...hospitals.slice(0, 1)];
    const plan = explainTrainingPlan({ ...seed, delta: 1e-12, hospitals: tiny, patientTargetEpsilon: 1e-5 });
    expect(plan.patientLevel![0]).toMatchObject({
      hospitalId: 'tiny',
      error: expect.stringMatching(/no noise multiplier/),
    });
    expect(plan.patientLevel![0].noiseMultiplier).toBeUndefined();
    expect(plan.patientLevel).toHaveLength(2); // the other hospital is still planned (or explained)
    expect(
      plan.lines.some((l) => /^tiny \(N = 50\): patient-level ε = 0\.00001 cannot be reached/.test(l.text)),
    ).toBe(true);
  });
});
