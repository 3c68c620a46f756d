import fc from 'fast-check';
import type { RiskHistogram } from '../../../../schemas/metrics';
import { metricsFromHistogram } from '../../../../src/core/evaluation/pooled-metrics';
import {
  DEFAULT_HISTOGRAM_BINS,
  mergeHistograms,
  riskHistogram,
} from '../../../../src/core/evaluation/risk-histogram';
import { evaluateBinary } from '../../../../src/core/metrics';
import { SeededRandom } from '../../../../src/core/random/seeded-random';

/** A cohort-like evaluation set: risks from a logistic model of a latent score, labels drawn from them. */
function sample(seed: number, n: number, prevalenceShift = -1.5) {
  const random = new SeededRandom(seed);
  const labels = new Float64Array(n);
  const risks = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = Math.max(1e-12, random.nextDouble());
    const u2 = random.nextDouble();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    const p = 1 / (1 + Math.exp(-(prevalenceShift + 1.3 * z)));
    risks[i] = p;
    labels[i] = random.nextDouble() < p ? 1 : 0;
  }
  return { labels, risks };
}

function expectSameHistogram(a: RiskHistogram, b: RiskHistogram) {
  expect(a.bins).toBe(b.bins);
  expect(a.positives).toEqual(b.positives);
  expect(a.negatives).toEqual(b.negatives);
  expect(a.sumRisk).toBeCloseTo(b.sumRisk, 9);
  expect(a.sumSquaredError).toBeCloseTo(b.sumSquaredError, 9);
  expect(a.sumLogLoss).toBeCloseTo(b.sumLogLoss, 9);
}

describe('pooled metrics from risk histograms vs exact metrics', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: AUROC ±0.002, AUPRC ±0.01, Brier and O:E exact', (seed) => {
    const { labels, risks } = sample(seed, 3000 + seed * 250);
    const exact = evaluateBinary(labels, risks);
    const pooled = metricsFromHistogram(riskHistogram(labels, risks));
    expect(pooled.n).toBe(exact.n);
    expect(pooled.positives).toBe(exact.positives);
    expect(Math.abs(pooled.auroc! - exact.auroc!)).toBeLessThan(0.002);
    expect(Math.abs(pooled.auprc! - exact.auprc!)).toBeLessThan(0.01);
    expect(Math.abs(pooled.brier! - exact.brier)).toBeLessThan(1e-9);
    expect(Math.abs(pooled.observedExpectedRatio! - exact.observedExpectedRatio!)).toBeLessThan(1e-9);
    // Recalibration on bin midpoints is approximate but must agree in substance.
    expect(Math.abs(pooled.calibrationSlope! - exact.calibrationSlope!)).toBeLessThan(0.05);
    expect(Math.abs(pooled.calibrationIntercept! - exact.calibrationIntercept!)).toBeLessThan(0.1);
  });

  it('holds for arbitrary labels and risks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 2,
          maxLength: 400,
        }),
        (rows) => {
          const labels = rows.map(([y]) => (y ? 1 : 0));
          const risks = rows.map(([, p]) => p);
          const exact = evaluateBinary(labels, risks);
          const pooled = metricsFromHistogram(riskHistogram(labels, risks));
          expect(pooled.n).toBe(exact.n);
          expect(Math.abs(pooled.brier! - exact.brier)).toBeLessThan(1e-9);
          if (exact.observedExpectedRatio === null) expect(pooled.observedExpectedRatio).toBeNull();
          else
            expect(Math.abs(pooled.observedExpectedRatio! - exact.observedExpectedRatio)).toBeLessThan(1e-9);
          if (exact.auroc === null) expect(pooled.auroc).toBeNull();
          else {
            // Ties inside a bin move AUROC by at most the share of pairs that share a bin.
            expect(pooled.auroc).toBeGreaterThanOrEqual(0);
            expect(pooled.auroc).toBeLessThanOrEqual(1);
          }
          if (exact.auprc === null) expect(pooled.auprc).toBeNull();
        },
      ),
      { numRuns: 200, seed: 20250101 },
    );
  });

  it('is exact when every risk sits in its own bin', () => {
    const labels = [0, 1, 0, 1, 1, 0, 0, 1];
    const risks = [0.05, 0.95, 0.35, 0.55, 0.75, 0.15, 0.65, 0.25];
    const exact = evaluateBinary(labels, risks);
    const pooled = metricsFromHistogram(riskHistogram(labels, risks, 10));
    expect(pooled.auroc).toBeCloseTo(exact.auroc!, 12);
    expect(pooled.auprc).toBeCloseTo(exact.auprc!, 12);
  });

  it('counts pairs in one bin as ties (½)', () => {
    const pooled = metricsFromHistogram(riskHistogram([0, 1], [0.51, 0.52], 10));
    expect(pooled.auroc).toBe(0.5);
  });

  it('returns null metrics when a class is missing, and n = 0 metrics for an empty histogram', () => {
    const onlyNegatives = metricsFromHistogram(riskHistogram([0, 0, 0], [0.1, 0.2, 0.3]));
    expect(onlyNegatives).toMatchObject({ positives: 0, auroc: null, auprc: null, calibrationSlope: null });
    expect(onlyNegatives.brier).toBeCloseTo((0.01 + 0.04 + 0.09) / 3, 12);
    const onlyPositives = metricsFromHistogram(riskHistogram([1, 1], [0.6, 0.9]));
    expect(onlyPositives.auroc).toBeNull();
    expect(onlyPositives.auprc).toBe(1);
    const empty = metricsFromHistogram(riskHistogram([], []));
    expect(empty).toMatchObject({ n: 0, brier: null, loss: null, observedExpectedRatio: null });
  });

  it('reports the mean log loss with clamped risks', () => {
    const pooled = metricsFromHistogram(riskHistogram([1, 0], [0.8, 0.4]));
    expect(pooled.loss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    expect(Number.isFinite(metricsFromHistogram(riskHistogram([1, 0], [0, 1])).loss!)).toBe(true);
  });
});

describe('risk histograms', () => {
  it('merging histograms of parts equals the histogram of the whole', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 300 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        (rows, cutSeeds) => {
          const cuts = [
            ...new Set(cutSeeds.map((c) => (rows.length === 0 ? 0 : c % (rows.length + 1)))),
          ].sort((a, b) => a - b);
          const bounds = [0, ...cuts, rows.length];
          const parts = bounds.slice(1).map((end, k) => rows.slice(bounds[k], end));
          const histogramOf = (rs: typeof rows) =>
            riskHistogram(
              rs.map(([y]) => (y ? 1 : 0)),
              rs.map(([, p]) => p),
              50,
            );
          expectSameHistogram(mergeHistograms(parts.map(histogramOf)), histogramOf(rows));
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('pooled metrics of merged hospital histograms equal those of the pooled records', () => {
    const a = sample(11, 900);
    const b = sample(12, 1500, -0.5);
    const whole = riskHistogram([...a.labels, ...b.labels], [...a.risks, ...b.risks]);
    const merged = mergeHistograms([riskHistogram(a.labels, a.risks), riskHistogram(b.labels, b.risks)]);
    const pm = metricsFromHistogram(merged);
    const pw = metricsFromHistogram(whole);
    expect(pm.auroc).toBeCloseTo(pw.auroc!, 12);
    expect(pm.auprc).toBeCloseTo(pw.auprc!, 12);
    expect(pm.brier).toBeCloseTo(pw.brier!, 12);
  });

  it('bins by floor(p · bins), with p = 1 in the last bin', () => {
    const h = riskHistogram([1, 0, 0, 1], [0, 0.1, 0.999, 1], 10);
    expect(h.bins).toBe(10);
    expect(h.positives).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(h.negatives).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(riskHistogram([1], [0.5]).positives).toHaveLength(DEFAULT_HISTOGRAM_BINS);
  });

  it('rejects mismatched lengths, non-probabilities and mismatched bins', () => {
    expect(() => riskHistogram([1, 0], [0.5])).toThrow('labels (2) and risks (1) differ in length');
    expect(() => riskHistogram([1], [1.5])).toThrow('risk 1.5 at row 0 is not a probability');
    expect(() => riskHistogram([0, 1], [0.2, Number.NaN])).toThrow('risk NaN at row 1 is not a probability');
    expect(() => riskHistogram([1], [-0.1])).toThrow(/not a probability/);
    expect(() => mergeHistograms([])).toThrow('no histograms to merge');
    expect(() => mergeHistograms([riskHistogram([1], [0.5], 10), riskHistogram([1], [0.5], 20)])).toThrow(
      'cannot merge histograms of 20 and 10 bins',
    );
  });
});
