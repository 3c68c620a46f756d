import {
  fitPreprocessor,
  generateCohort,
  transformRecords,
  type CareUnit,
  type CohortRecord,
  type DesignMatrix,
  type GenerateCohortOptions,
} from '../../../../src/core/data';

/**
 * Calibration of the synthetic cohort against CLINICAL_DATA.md §1.3, §5.3 and §5.4, measured.
 *
 * Measured with this file's Newton logistic regression (pooled train rows, preprocessor fitted on
 * pooled train rows, AUROC on the pooled test rows):
 *   archetypes, 3 hospitals (4,500 stays)
 *     seed 42:   prevalence 11.31 %, LR test AUROC 0.859
 *     seed 7:    prevalence 10.47 %, LR test AUROC 0.843
 *     seed 2024: prevalence 11.60 %, LR test AUROC 0.890
 *     mean AUROC 0.864; over 13 seeds mean 0.860 (range 0.835–0.890; the test split has ~125 deaths)
 *     and prevalence mean 11.1 % (range 10.2–12.0 %)
 *     per unit (seed 42): CVICU 4.3 %, MICU 14.1 %, MICU/SICU 14.6 %, CCU 11.9 %, TSICU 12.8 %
 *     missing: lactate 47 % (survivors 50 %, deaths 27 %), bilirubin 52 %, urine output 7.2 %
 *   eicu-like, 20 hospitals (22–29k stays)
 *     prevalence 11.35 / 11.25 / 11.83 % (seeds 42 / 7 / 2024), LR test AUROC 0.861 / 0.852 / 0.852
 *     per unit (seed 42): CVICU 4.7 %, MICU 15.7 %; missing: lactate 45 %, bilirubin 50 %, urine 7.6 %
 *   mimic-careunit (7,000 stays): CVICU 4.4–4.5 %, MICU 14.0–15.0 %, LR test AUROC 0.848 / 0.861 / 0.857
 */

const SEEDS = [42, 7, 2024];

const pooled = (options: GenerateCohortOptions): { train: CohortRecord[]; test: CohortRecord[] } => {
  const cohort = generateCohort(options);
  return { train: cohort.hospitals.flatMap((h) => h.train), test: cohort.hospitals.flatMap((h) => h.test) };
};

const mortality = (records: CohortRecord[]): number =>
  records.reduce((sum, r) => sum + r.label_inhospital_mortality, 0) / records.length;

const missingRate = (records: CohortRecord[], feature: string): number =>
  records.filter((r) => r.features[feature] === null).length / records.length;

/** L2-regularised logistic regression by Newton's method (a handful of iterations converges). */
function fitLogisticRegression(m: DesignMatrix, l2 = 1e-3, iterations = 8): Float64Array {
  const d = m.cols + 1; // last weight is the intercept
  const w = new Float64Array(d);
  const x = new Float64Array(d);
  for (let iteration = 0; iteration < iterations; iteration++) {
    const gradient = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) x[j] = m.features[i * m.cols + j];
      x[m.cols] = 1;
      let s = 0;
      for (let j = 0; j < d; j++) s += w[j] * x[j];
      const p = 1 / (1 + Math.exp(-s));
      const v = p * (1 - p);
      for (let a = 0; a < d; a++) {
        gradient[a] += (p - m.labels[i]) * x[a];
        const va = v * x[a];
        for (let b = a; b < d; b++) hessian[a * d + b] += va * x[b];
      }
    }
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < a; b++) hessian[a * d + b] = hessian[b * d + a];
      gradient[a] += l2 * m.rows * w[a];
      hessian[a * d + a] += l2 * m.rows;
    }
    const step = solve(hessian, gradient, d);
    for (let a = 0; a < d; a++) w[a] -= step[a];
  }
  return w;
}

/** Gaussian elimination with partial pivoting; A is d×d row-major, both inputs are consumed. */
function solve(A: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let c = 0; c < d; c++) {
    let pivot = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(A[r * d + c]) > Math.abs(A[pivot * d + c])) pivot = r;
    for (let k = 0; k < d; k++) [A[c * d + k], A[pivot * d + k]] = [A[pivot * d + k], A[c * d + k]];
    [b[c], b[pivot]] = [b[pivot], b[c]];
    for (let r = c + 1; r < d; r++) {
      const f = A[r * d + c] / A[c * d + c];
      for (let k = c; k < d; k++) A[r * d + k] -= f * A[c * d + k];
      b[r] -= f * b[c];
    }
  }
  const x = new Float64Array(d);
  for (let c = d - 1; c >= 0; c--) {
    let s = b[c];
    for (let k = c + 1; k < d; k++) s -= A[c * d + k] * x[k];
    x[c] = s / A[c * d + c];
  }
  return x;
}

function scores(w: Float64Array, m: DesignMatrix): number[] {
  return Array.from({ length: m.rows }, (_, i) => {
    let s = w[m.cols];
    for (let j = 0; j < m.cols; j++) s += w[j] * m.features[i * m.cols + j];
    return s;
  });
}

/** Rank-based AUROC (Mann–Whitney U), ties get their average rank. */
function auroc(score: number[], labels: ArrayLike<number>): number {
  const order = score.map((_, i) => i).sort((a, b) => score[a] - score[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && score[order[j + 1]] === score[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function centralizedAuroc(options: GenerateCohortOptions): number {
  const { train, test } = pooled(options);
  const preprocessor = fitPreprocessor(train);
  const w = fitLogisticRegression(transformRecords(preprocessor, train));
  const testMatrix = transformRecords(preprocessor, test);
  return auroc(scores(w, testMatrix), testMatrix.labels);
}

describe('the auroc helper', () => {
  it('is 1 for perfect ranking, 0.5 for ties, and counts ties as halves', () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(auroc([0.1, 0.5, 0.5, 0.9], [0, 1, 0, 1])).toBe(0.875);
  });
});

describe('synthetic cohort calibration (CLINICAL_DATA.md §5.4 targets)', () => {
  const archetypes = SEEDS.map((seed) => pooled({ seed }));

  it('pooled prevalence is 10–12 % for archetypes with 3 hospitals', () => {
    const rates = archetypes.map(({ train, test }) => mortality([...train, ...test]));
    for (const rate of rates) {
      expect(rate).toBeGreaterThan(0.095);
      expect(rate).toBeLessThan(0.125);
    }
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    expect(mean).toBeGreaterThan(0.1);
    expect(mean).toBeLessThan(0.12);
  });

  it('per-unit mortality follows §1.3: CVICU lowest (~4–5 %), MICU highest (~14–15 %)', () => {
    const stays = archetypes.flatMap(({ train, test }) => [...train, ...test]);
    const byUnit = (unit: CareUnit): number => mortality(stays.filter((r) => r.first_careunit === unit));
    expect(byUnit('CVICU')).toBeGreaterThan(0.035);
    expect(byUnit('CVICU')).toBeLessThan(0.06);
    expect(byUnit('MICU')).toBeGreaterThan(0.13);
    expect(byUnit('MICU')).toBeLessThan(0.17);
    // The mimic-careunit split has no site effects, so each unit sits on its §1.3 target.
    const units = generateCohort({ preset: 'mimic-careunit', seed: 42 });
    const targets: Record<string, number> = { cvicu: 0.046, micu: 0.145, 'micu-sicu': 0.125, sicu: 0.126 };
    for (const h of units.hospitals) {
      const rate = mortality([...h.train, ...h.test]);
      expect(rate).toBeGreaterThan(0.03);
      if (targets[h.hospitalId] !== undefined)
        expect(Math.abs(rate - targets[h.hospitalId])).toBeLessThan(0.025);
    }
  });

  it('missingness matches §5.3: lactate ~45–50 %, bilirubin ~50–55 %, urine output ~7–10 %, MNAR', () => {
    for (const { train, test } of archetypes) {
      const stays = [...train, ...test];
      expect(missingRate(stays, 'lactate_max')).toBeGreaterThan(0.43);
      expect(missingRate(stays, 'lactate_max')).toBeLessThan(0.52);
      expect(missingRate(stays, 'bilirubin_total_max')).toBeGreaterThan(0.48);
      expect(missingRate(stays, 'bilirubin_total_max')).toBeLessThan(0.57);
      expect(missingRate(stays, 'urineoutput')).toBeGreaterThan(0.055);
      expect(missingRate(stays, 'urineoutput')).toBeLessThan(0.1);
      // Sicker stays get lactate drawn more often: deaths are measured far more than survivors.
      const survivors = stays.filter((r) => r.label_inhospital_mortality === 0);
      const deaths = stays.filter((r) => r.label_inhospital_mortality === 1);
      expect(missingRate(survivors, 'lactate_max') - missingRate(deaths, 'lactate_max')).toBeGreaterThan(
        0.15,
      );
    }
  });

  it('a centralized logistic regression reaches test AUROC 0.85–0.87 (mean over seeds)', () => {
    const aurocs = SEEDS.map((seed) => centralizedAuroc({ seed }));
    for (const value of aurocs) {
      expect(value).toBeGreaterThan(0.82);
      expect(value).toBeLessThan(0.9);
    }
    const mean = aurocs.reduce((a, b) => a + b, 0) / aurocs.length;
    expect(mean).toBeGreaterThan(0.845);
    expect(mean).toBeLessThan(0.875);
  });

  it('the default eicu-like cohort has 10–12 % prevalence and the §5.3 missingness', () => {
    // Its LR AUROC (0.85–0.86, header comment) is measured outside the suite: 20k rows are slow here.
    const { train, test } = pooled({ preset: 'eicu-like' });
    const stays = [...train, ...test];
    expect(mortality(stays)).toBeGreaterThan(0.1);
    expect(mortality(stays)).toBeLessThan(0.12);
    expect(missingRate(stays, 'lactate_max')).toBeGreaterThan(0.4);
    expect(missingRate(stays, 'lactate_max')).toBeLessThan(0.52);
    expect(missingRate(stays, 'bilirubin_total_max')).toBeGreaterThan(0.46);
    expect(missingRate(stays, 'bilirubin_total_max')).toBeLessThan(0.57);
    expect(missingRate(stays, 'urineoutput')).toBeGreaterThan(0.055);
    expect(missingRate(stays, 'urineoutput')).toBeLessThan(0.14);
  });
});
