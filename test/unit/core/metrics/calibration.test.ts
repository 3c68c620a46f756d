import { brierScore, calibration, evaluateBinary } from '../../../../src/core/metrics';
import { SeededRandom, standardNormal } from '../../../../src/core/random/seeded-random';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const logit = (p: number): number => Math.log(p / (1 - p));

/** Risks with an ICU-like spread (median ≈ 12 %) and outcomes drawn from exactly those risks. */
function calibratedCohort(n: number, seed: number): { labels: Float64Array; probs: Float64Array } {
  const random = new SeededRandom(seed);
  const labels = new Float64Array(n);
  const probs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    probs[i] = sigmoid(-2 + 1.2 * standardNormal(random));
    labels[i] = random.nextDouble() < probs[i] ? 1 : 0;
  }
  return { labels, probs };
}

describe('brierScore', () => {
  it('is the mean squared error of the probabilities', () => {
    expect(brierScore([0, 1, 1], [0.2, 0.6, 1])).toBeCloseTo((0.04 + 0.16 + 0) / 3, 12);
  });

  it('rejects probabilities outside [0, 1] and empty input', () => {
    expect(() => brierScore([0, 1], [0.2, 1.2])).toThrow(/probability 1 is 1.2/);
    expect(() => brierScore([], [])).toThrow(/no examples/);
  });
});

describe('calibration', () => {
  it('gives slope ≈ 1, intercept ≈ 0 and O:E ≈ 1 on perfectly calibrated data', () => {
    const { labels, probs } = calibratedCohort(50_000, 7);
    const fit = calibration(labels, probs);
    expect(fit.observedExpectedRatio).toBeCloseTo(1, 1);
    expect(fit.slope).not.toBeNull();
    expect(Math.abs((fit.slope as number) - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.intercept as number)).toBeLessThan(0.05);
  });

  it('gives slope < 1 for over-confident predictions', () => {
    const { labels, probs } = calibratedCohort(50_000, 8);
    // Doubling every logit pushes risks towards 0 and 1: the true slope is ½.
    const overConfident = probs.map((p) => sigmoid(2 * logit(p)));
    const fit = calibration(labels, overConfident);
    expect(fit.slope).not.toBeNull();
    expect(Math.abs((fit.slope as number) - 0.5)).toBeLessThan(0.05);
  });

  it('gives slope > 1 for under-confident predictions', () => {
    const { labels, probs } = calibratedCohort(20_000, 9);
    const fit = calibration(
      labels,
      probs.map((p) => sigmoid(0.5 * logit(p))),
    );
    expect(fit.slope as number).toBeGreaterThan(1.5);
  });

  it('is null for slope and intercept when a class is absent or the classes are separated', () => {
    expect(calibration([0, 0, 0], [0.1, 0.2, 0.3])).toEqual({
      observedExpectedRatio: 0,
      slope: null,
      intercept: null,
    });
    // Perfect separation: the likelihood grows without bound as the slope grows.
    const fit = calibration([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]);
    expect(fit.slope).toBeNull();
    expect(fit.intercept).toBeNull();
  });

  it('clamps probabilities of exactly 0 and 1 instead of failing', () => {
    const fit = calibration([0, 1, 0, 1, 1, 0], [0, 1, 0.3, 0.4, 0.7, 0.6]);
    expect(fit.observedExpectedRatio).toBeCloseTo(3 / 3, 12);
    expect(Number.isFinite(fit.slope as number)).toBe(true);
  });

  it('is null for O:E when every probability is 0', () => {
    expect(calibration([0, 1], [0, 0]).observedExpectedRatio).toBeNull();
  });
});

describe('evaluateBinary', () => {
  it('reports every metric on one set', () => {
    const m = evaluateBinary([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(m.n).toBe(4);
    expect(m.positives).toBe(2);
    expect(m.prevalence).toBe(0.5);
    expect(m.auroc).toBeCloseTo(0.75, 12);
    expect(m.auprc).toBeCloseTo(5 / 6, 12);
    expect(m.brier).toBeCloseTo((0.01 + 0.16 + 0.4225 + 0.04) / 4, 12);
    expect(m.observedExpectedRatio).toBeCloseTo(2 / 1.65, 12);
    expect(m.calibrationSlope).not.toBeNull();
  });

  it('rejects mismatched lengths and non-binary labels', () => {
    expect(() => evaluateBinary([0, 1, 1], [0.1, 0.2])).toThrow(
      /differ in length: 3 labels, 2 probabilities/,
    );
    expect(() => evaluateBinary([0, 0.5], [0.1, 0.2])).toThrow(/label 1 is 0.5/);
  });
});
