import * as tf from '@tensorflow/tfjs';
import { ZodError } from 'zod';
import { attribute } from '../../../../src/core/agents/attribution';
import { assessStay, type ServedModelVersion } from '../../../../src/core/agents/clinical-support';
import { GUIDELINE_PASSAGES } from '../../../../src/core/agents/guideline-corpus';
import { GuidelineIndex, tokenize } from '../../../../src/core/agents/guideline-retrieval';
import { riskBand, riskBandInterval } from '../../../../src/core/agents/risk-band';
import { validateStay } from '../../../../src/core/agents/stay-input';
import { dataSufficiency, SAPS_II_INPUTS } from '../../../../src/core/agents/data-sufficiency';
import {
  fitPreprocessor,
  generateCohort,
  transformRecords,
  type Preprocessor,
} from '../../../../src/core/data';
import {
  createModel,
  getFlatWeights,
  predictProbabilities,
  setFlatWeights,
} from '../../../../src/core/model';

const cohort = generateCohort({ preset: 'archetypes', hospitals: 3, patients: 600, seed: 11 });
const preprocessor: Preprocessor = fitPreprocessor(cohort.hospitals.flatMap((h) => h.train));
const inputDim = preprocessor.featureNames.length;
const version: ServedModelVersion = {
  versionId: 'run-a-r0002',
  runId: 'run-a',
  round: 2,
  privacy: [
    {
      unit: 'hospital',
      epsilon: 4.2,
      delta: 1e-5,
      order: 8,
      noiseMultiplier: 1,
      clipNorm: 1,
      samplingProbability: 1,
      steps: 2,
      accountant: 'rdp-sampled-gaussian+balle2020',
      budgetEpsilon: null,
    },
  ],
};

/** Weights with a known shape: each column's weight is a deterministic value in [-0.5, 0.5]. */
function withWeights(model: tf.LayersModel, seed: number): tf.LayersModel {
  const n = getFlatWeights(model).length;
  let s = seed;
  const values = Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  setFlatWeights(model, values);
  return model;
}

const logistic = withWeights(createModel({ kind: 'logistic', inputDim }, 1), 3);
const mlp = withWeights(createModel({ kind: 'mlp', inputDim, hiddenUnits: [16, 8] }, 2), 5);
afterAll(() => {
  logistic.dispose();
  mlp.dispose();
});

const SICK_STAY = {
  stay_id: 'bed-12',
  first_careunit: 'Medical Intensive Care Unit (MICU)',
  age: 78,
  is_male: 1,
  heart_rate_mean: 118,
  sbp_mean: 92,
  dbp_mean: 48,
  mbp_mean: 60,
  resp_rate_mean: 27,
  temperature_mean: 38.6,
  spo2_mean: 93,
  gcs_min: 9,
  gcs_unable: 0,
  creatinine_max: 2.8,
  bun_max: 48,
  sodium_max: 141,
  potassium_max: 5.1,
  bicarbonate_min: 16,
  glucose_max: 210,
  hemoglobin_min: 9.1,
  wbc_max: 19,
  platelets_min: 88,
  lactate_max: 5.2,
  bilirubin_total_max: null,
  urineoutput: 420,
};

function zodPaths(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ZodError) return error.issues.map((i) => i.path.join('.'));
    throw error;
  }
  throw new Error('expected a ZodError');
}

describe('validateStay', () => {
  it('accepts the MIMIC-IV long care-unit name, nulls and absent features as missing', () => {
    const stay = validateStay({ first_careunit: 'Coronary Care Unit (CCU)', age: 60, lactate_max: null });
    expect(stay.careUnit).toBe('CCU');
    expect(stay.record.features.age).toBe(60);
    expect(stay.record.features.lactate_max).toBeNull();
    expect(stay.missing).toContain('lactate_max');
    expect(stay.missing).toContain('heart_rate_mean');
    expect(stay.flags).toEqual([]);
    expect(stay.stayId).toBeNull();
  });

  it('names every bad key: a misspelt column, a string value, an unknown care unit', () => {
    expect(zodPaths(() => validateStay({ first_careunit: 'MICU', lactate: 3 }))).toEqual(['']);
    expect(zodPaths(() => validateStay({ first_careunit: 'MICU', lactate_max: '3' }))).toEqual([
      'lactate_max',
    ]);
    expect(zodPaths(() => validateStay({ first_careunit: 'Ward 5' }))).toEqual(['first_careunit']);
    expect(zodPaths(() => validateStay({ age: 50 }))).toEqual(['first_careunit']);
  });

  it('flags implausible values (°F temperature, µmol/L creatinine, GCS 2.5, is_male 2) and treats them as missing', () => {
    const stay = validateStay({
      first_careunit: 'MICU',
      temperature_mean: 101.3,
      creatinine_max: 250,
      gcs_min: 2.5,
      is_male: 2,
      lactate_max: 3.1,
    });
    expect(stay.flags.map((f) => f.feature).sort()).toEqual([
      'creatinine_max',
      'gcs_min',
      'is_male',
      'temperature_mean',
    ]);
    for (const name of ['temperature_mean', 'creatinine_max', 'gcs_min', 'is_male'])
      expect(stay.record.features[name]).toBeNull();
    expect(stay.record.features.lactate_max).toBe(3.1);
    expect(stay.flags.find((f) => f.feature === 'temperature_mean')!.message).toMatch(
      /within \[26, 45\] °C.*treated as missing/,
    );
  });

  it('an out-of-range value scores exactly as if it were missing', () => {
    const flagged = assessStay(
      { model: logistic, preprocessor, version },
      { ...SICK_STAY, lactate_max: 45 },
    ).assessment;
    const missing = assessStay(
      { model: logistic, preprocessor, version },
      { ...SICK_STAY, lactate_max: null },
    ).assessment;
    expect(flagged.risk).toBeCloseTo(missing.risk!, 12);
    expect(flagged.flags.map((f) => f.feature)).toEqual(['lactate_max']);
    expect(missing.flags).toEqual([]);
  });
});

describe('attribute (gradient × input on the logit)', () => {
  const design = transformRecords(preprocessor, [validateStay(SICK_STAY).record]);
  const baseline = new Float32Array(inputDim);
  const logit = (p: number) => Math.log(p / (1 - p));

  it('sums to logit(x) − logit(baseline) for the logistic model, and each term is wⱼ·xⱼ', () => {
    const a = attribute(logistic, design.features, baseline);
    const [px, pb] = predictProbabilities(
      logistic,
      Float32Array.from([...design.features, ...baseline]),
      2,
      inputDim,
    );
    const sum = a.contributions.reduce((s, c) => s + c, 0);
    expect(sum).toBeCloseTo(logit(px) - logit(pb), 4);
    expect(Math.abs(a.completenessGap)).toBeLessThan(1e-4);
    const kernel = getFlatWeights(logistic).subarray(0, inputDim);
    for (let j = 0; j < inputDim; j++)
      expect(a.contributions[j]).toBeCloseTo(kernel[j] * design.features[j], 5);
  });

  it('for an MLP, integrated gradients close the gap that gradient × input leaves', () => {
    const gxi = attribute(mlp, design.features, baseline);
    const ig = attribute(mlp, design.features, baseline, { method: 'integrated-gradients', steps: 64 });
    const total = Math.abs(gxi.logit - gxi.baselineLogit);
    expect(Math.abs(ig.completenessGap)).toBeLessThan(0.02 * Math.max(total, 1));
    expect(Math.abs(ig.completenessGap)).toBeLessThan(Math.abs(gxi.completenessGap));
  });

  it('refuses a model that does not end in one sigmoid unit', () => {
    const linear = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [inputDim] })] });
    expect(() => attribute(linear, design.features, baseline)).toThrow(/sigmoid/);
    linear.dispose();
  });
});

describe('riskBand', () => {
  it('cuts at 5 %, 15 % and 30 %', () => {
    expect([0, 0.0499, 0.05, 0.1499, 0.15, 0.2999, 0.3, 1].map(riskBand)).toEqual([
      'low',
      'low',
      'moderate',
      'moderate',
      'high',
      'high',
      'very high',
      'very high',
    ]);
    expect(riskBandInterval('high')).toBe('15–30 %');
    expect(riskBandInterval('very high')).toBe('≥ 30 %');
    expect(() => riskBand(Number.NaN)).toThrow(RangeError);
  });
});

describe('guideline retrieval (BM25)', () => {
  const index = new GuidelineIndex();

  it('tokenizes feature names and units into clinical words', () => {
    expect(tokenize('lactate_max SpO₂ vasopressors')).toEqual(['lactate', 'spo2', 'vasopressor']);
  });

  it.each([
    [['lactate', 'hyperlactatemia', 'lactate_max'], 'ssc-lactate'],
    [['creatinine_max', 'urineoutput', 'aki'], 'kdigo-definition'],
    [['potassium', 'hyperkalemia'], 'hyperkalaemia'],
    [['glucose_max', 'hyperglycemia'], 'glucose-control'],
    [['gcs_min', 'coma'], 'gcs'],
  ])('%j finds %s first', (terms, id) => {
    expect(index.search(terms.map((term) => ({ term, weight: 1 })))[0].passage.id).toBe(id);
  });

  it('finds nothing for words outside the corpus, and every passage cites a source', () => {
    expect(index.search([{ term: 'zebra', weight: 1 }])).toEqual([]);
    for (const p of GUIDELINE_PASSAGES) expect(p.source.citation.length).toBeGreaterThan(20);
    expect(GUIDELINE_PASSAGES.length).toBeGreaterThanOrEqual(12);
  });
});

describe('assessStay', () => {
  const { assessment, narrativePrompt } = assessStay({ model: logistic, preprocessor, version }, SICK_STAY);

  it('returns the model risk, band, version and guarantee', () => {
    const design = transformRecords(preprocessor, [validateStay(SICK_STAY).record]);
    const [p] = predictProbabilities(logistic, design.features, 1, inputDim);
    expect(assessment.risk).toBeCloseTo(p, 5);
    expect(assessment.band).toBe(riskBand(assessment.risk!));
    expect(assessment.model).toEqual({
      versionId: 'run-a-r0002',
      runId: 'run-a',
      round: 2,
      calibration: null,
    });
    expect(assessment.dataSufficiency).toMatchObject({ sufficient: true, reason: null });
    expect(assessment.privacy).toEqual(version.privacy);
    expect(assessment.stayId).toBe('bed-12');
  });

  it('ranks stay-level features by |contribution|, folding missingness indicators and care-unit columns in', () => {
    const sizes = assessment.topFeatures.map((f) => Math.abs(f.contribution));
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(assessment.topFeatures.length).toBe(5);
    const names = assessment.topFeatures.map((f) => f.feature);
    expect(names.some((n) => n.startsWith('first_careunit_') || n.endsWith('_missing'))).toBe(false);
  });

  it('names the findings, retrieves guidance for them and cites every passage it names', () => {
    expect(assessment.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(['lactate-very-high', 'hypotension', 'oliguria', 'creatinine-high']),
    );
    expect(assessment.guidance.length).toBeGreaterThan(0);
    const cited = [...assessment.narrative.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(new Set(cited)).toEqual(new Set(assessment.narrative.citations.map((c) => c.n)));
    expect(assessment.narrative.citations.at(-1)!.id).toBe('prediction-models');
    expect(assessment.narrative.writer).toBe('template');
  });

  it('sends a language model no identifier and no record value unless asked to', () => {
    const plain = narrativePrompt(false);
    expect(plain.prompt).not.toContain('bed-12');
    for (const value of ['5.2', '420', '2.8', '118', (assessment.risk! * 100).toFixed(1)])
      expect(plain.prompt).not.toContain(value);
    const withValues = narrativePrompt(true);
    expect(withValues.prompt).toContain((assessment.risk! * 100).toFixed(1));
    expect(withValues.prompt).not.toContain('bed-12');
  });
});

describe('an answer says when it does not know, and how calibrated the model is', () => {
  const emptyish = {
    first_careunit: 'MICU',
    age: 70,
    heart_rate_mean: 95,
    sodium_max: 139,
  };

  it('an almost empty stay gets "insufficient data", not a low risk (the issue\'s 20-of-23-missing stay)', () => {
    const { assessment } = assessStay({ model: logistic, preprocessor, version }, emptyish);
    expect(assessment.risk).toBeNull();
    expect(assessment.band).toBeNull();
    expect(assessment.topFeatures).toEqual([]);
    expect(assessment.dataSufficiency).toMatchObject({ sufficient: false, measuredSapsVariables: 2 });
    expect(assessment.dataSufficiency.reason).toMatch(
      /^only 2 of the 11 SAPS II variables HIMAS uses were measured \(at least 6 are needed\); missing: sbp_mean, temperature_mean/,
    );
    expect(assessment.narrative.text).toMatch(
      /^Insufficient data for a mortality risk estimate: only 2 of the 11/,
    );
    expect(assessment.narrative.text).not.toMatch(/\d+\.\d %/);
  });

  it('the rule: six of the eleven SAPS II inputs and a heart rate or blood pressure', () => {
    const six = { ...emptyish, sbp_mean: 100, temperature_mean: 37, gcs_min: 14, bun_max: 20 };
    expect(dataSufficiency(validateStay(six).record.features)).toMatchObject({
      sufficient: true,
      measuredSapsVariables: 6,
    });
    const five = { ...six, bun_max: null };
    expect(dataSufficiency(validateStay(five).record.features).sufficient).toBe(false);
    // An implausible value does not count as measured.
    expect(dataSufficiency(validateStay({ ...six, bun_max: 900 }).record.features).sufficient).toBe(false);
    // Labs without any vital sign: not enough.
    const labsOnly = {
      first_careunit: 'MICU',
      gcs_min: 14,
      urineoutput: 1500,
      bun_max: 20,
      wbc_max: 9,
      potassium_max: 4,
      sodium_max: 139,
      bicarbonate_min: 24,
      bilirubin_total_max: 0.8,
    };
    expect(dataSufficiency(validateStay(labsOnly).record.features)).toMatchObject({
      sufficient: false,
      reason: expect.stringMatching(/^no heart rate or blood pressure was measured/),
    });
    expect(SAPS_II_INPUTS).toHaveLength(11);
  });

  it("states the served version's calibration with every estimate, and says when it is unknown", () => {
    const calibrated = {
      ...version,
      calibration: {
        observedExpectedRatio: 1.04,
        slope: 0.91,
        observedExpectedRatioInterval: [0.9, 1.2] as [number, number],
        slopeInterval: [0.7, 1.1] as [number, number],
        n: 1480,
      },
    };
    const { assessment } = assessStay({ model: logistic, preprocessor, version: calibrated }, SICK_STAY);
    expect(assessment.narrative.text).toContain(
      "On the hospitals' 1480 held-out test stays (DP-noised estimates, approximate 95 % noise intervals) the model's calibration is observed/expected deaths 1.04 [0.90, 1.20] (1 is ideal), calibration slope 0.91 [0.70, 1.10] (1 is ideal).",
    );
    expect(assessment.model.calibration).toEqual(calibrated.calibration);
    const unknown = assessStay({ model: logistic, preprocessor, version }, SICK_STAY).assessment;
    expect(unknown.narrative.text).toMatch(/has not been evaluated on held-out stays/);
  });

  it('cites each source once: passages from one guideline share its number', () => {
    const { assessment } = assessStay({ model: logistic, preprocessor, version }, SICK_STAY);
    const bySource = new Map<string, Set<number>>();
    for (const c of assessment.narrative.citations)
      bySource.set(c.citation, (bySource.get(c.citation) ?? new Set()).add(c.n));
    for (const numbers of bySource.values()) expect(numbers.size).toBe(1);
    const numbers = assessment.narrative.citations.map((c) => c.n);
    expect(new Set(numbers).size).toBe(bySource.size);
  });
});
