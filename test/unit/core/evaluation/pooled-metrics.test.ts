import fc from 'fast-check';
import { metricsFromHistogram, noiseIntervals } from '../../../../src/core/evaluation/pooled-metrics';
import {
  binRisks,
  EVALUATION_RISK_CUTS,
  mergeHistograms,
  noisyHistogram,
  resampleNoise,
} from '../../../../src/core/evaluation/risk-histogram';
import { evaluateBinary } from '../../../../src/core/metrics';
import { SeededRandom } from '../../../../src/core/random/seeded-random';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';

/** A cohort-like evaluation set: risks from a logistic model of a latent score, labels drawn from them. */
function sample(seed: number, n: number, prevalenceShift = -2) {
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

describe('pooled metrics from the public-bin risk histogram vs exact metrics (no noise)', () => {
  it.each([1, 2, 3, 4])('seed %i: within what 13 coarse bins allow (AUROC ±0.02, O:E ±0.05)', (seed) => {
    const { labels, risks } = sample(seed, 3000 + seed * 250);
    const exact = evaluateBinary(labels, risks);
    const pooled = metricsFromHistogram(binRisks(labels, risks));
    expect(pooled.n).toBe(exact.n);
    expect(pooled.positives).toBe(exact.positives);
    expect(Math.abs(pooled.auroc! - exact.auroc!)).toBeLessThan(0.02);
    expect(Math.abs(pooled.auprc! - exact.auprc!)).toBeLessThan(0.05);
    expect(Math.abs(pooled.brier! - exact.brier)).toBeLessThan(0.01);
    expect(Math.abs(pooled.observedExpectedRatio! / exact.observedExpectedRatio! - 1)).toBeLessThan(0.05);
    expect(Math.abs(pooled.calibrationSlope! - exact.calibrationSlope!)).toBeLessThan(0.15);
  });

  it('counts every stay once in the bin of its risk, for arbitrary labels and risks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true })), {
          minLength: 1,
          maxLength: 300,
        }),
        (rows) => {
          const labels = rows.map(([y]) => (y ? 1 : 0));
          const risks = rows.map(([, p]) => p);
          const h = binRisks(labels, risks);
          expect(h.positives.reduce((a, b) => a + b, 0)).toBe(labels.filter((y) => y === 1).length);
          expect(h.negatives.reduce((a, b) => a + b, 0)).toBe(labels.filter((y) => y === 0).length);
          rows.forEach(([, p]) => {
            const bin = h.cuts.findIndex(
              (c, b) => p >= c && (p < h.cuts[b + 1] || (b === h.cuts.length - 2 && p <= 1)),
            );
            expect(bin).toBeGreaterThanOrEqual(0);
          });
          const m = metricsFromHistogram(h);
          if (m.auroc !== null) expect(m.auroc).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 150, seed: 20261201 },
    );
  });

  it('merging adds counts and combines noise as the root sum of squares; other cuts cannot merge', () => {
    const a = binRisks([1, 0], [0.2, 0.05]);
    const b = binRisks([0, 0, 1], [0.6, 0.01, 0.95]);
    const merged = mergeHistograms([
      { ...a, noiseStd: 3 },
      { ...b, noiseStd: 4 },
    ]);
    expect(merged.noiseStd).toBeCloseTo(5, 12);
    expect(merged.positives.reduce((x, y) => x + y, 0)).toBe(2);
    expect(merged.negatives.reduce((x, y) => x + y, 0)).toBe(3);
    expect(() => mergeHistograms([a, binRisks([1], [0.5], [0, 0.5, 1])])).toThrow(/cannot merge/);
  });

  it('refuses cut points that do not rise from 0 to 1', () => {
    expect(() => binRisks([1], [0.5], [0, 0.6, 0.4, 1])).toThrow(/must rise from 0 to 1/);
    expect(() => binRisks([1], [0.5], [0.1, 1])).toThrow(/must rise from 0 to 1/);
  });
});

describe('the evaluation release is the Gaussian mechanism on every count', () => {
  it('adds noise of the stated SD to every count (empirical SD within 5 %), from a secure source only', () => {
    const exact = binRisks(...(Object.values(sample(9, 500)) as [Float64Array, Float64Array]));
    const noiseStd = 4;
    const draws: number[] = [];
    for (let i = 0; i < 400; i++) {
      const noisy = noisyHistogram(exact, noiseStd, new CryptoRandom());
      noisy.positives.forEach((c, b) => draws.push(c - exact.positives[b]));
      noisy.negatives.forEach((c, b) => draws.push(c - exact.negatives[b]));
      expect(noisy.noiseStd).toBe(noiseStd);
    }
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((a, b) => a + (b - mean) ** 2, 0) / draws.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd / noiseStd - 1)).toBeLessThan(0.05);
    expect(() => noisyHistogram(exact, noiseStd, new SeededRandom(1) as never)).toThrow(/SecureRandom/);
    expect(() => noisyHistogram(exact, 0, new CryptoRandom())).toThrow(/must be positive/);
  });

  // Approximate: noise drags clamped metrics, so nominal 95 % intervals cover 82–93 % (measured on
  // 600–3000 stays, σ 4–7); the report calls them approximate. A broken interval covers far less.
  it('states approximate 95 % noise intervals that cover the exact AUROC in most releases (≥ 75 % of 60)', () => {
    const { labels, risks } = sample(11, 1500);
    const exact = metricsFromHistogram(binRisks(labels, risks)).auroc!;
    let covered = 0;
    for (let i = 0; i < 60; i++) {
      const released = noisyHistogram(binRisks(labels, risks), 4, new CryptoRandom());
      const [lo, hi] = noiseIntervals(released, new SeededRandom(i), 150).auroc!;
      if (lo <= exact && exact <= hi) covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(45);
  });

  it('gives no intervals for an exact (noise-free) histogram, which never leaves a hospital', () => {
    const intervals = noiseIntervals(binRisks([0, 1, 0], [0.1, 0.8, 0.3]), new SeededRandom(1));
    expect(Object.values(intervals).every((v) => v === null)).toBe(true);
    expect(resampleNoise(binRisks([1], [0.5]), new SeededRandom(1)).positives).toEqual(
      binRisks([1], [0.5]).positives,
    );
  });
});

/**
 * Attack (privacy issue, finding 3): with the model and a stay's features, an attacker knows the
 * stay's bin, and from the released counts tries to tell whether the stay died. The exact
 * 1000-bin release gave 220 of 225 labels away. On the noisy public-bin release the best test
 * (the likelihood ratio: is this bin's positive count above the level expected without the stay?)
 * must be right no more often than the DP bound allows: for a label change (two counts move by 1,
 * L2 = √2) under Gaussian noise of SD σ, the optimal success is Φ(√2 / (2σ)).
 */
describe("attack: reading a test stay's label off released evaluations", () => {
  const cdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));

  it('is at chance level within the Gaussian bound (σ = 4: success ≤ Φ(0.18) ≈ 0.57, measured over 4000 trials)', () => {
    const sigma = 4;
    const others = binRisks(...(Object.values(sample(21, 224)) as [Float64Array, Float64Array]));
    const targetBin = 4;
    let correct = 0;
    const trials = 4000;
    const random = new CryptoRandom();
    for (let t = 0; t < trials; t++) {
      const died = random.nextDouble() < 0.5;
      const exact = {
        ...others,
        positives: others.positives.map((c, b) => c + (died && b === targetBin ? 1 : 0)),
        negatives: others.negatives.map((c, b) => c + (!died && b === targetBin ? 1 : 0)),
      };
      const released = noisyHistogram(exact, sigma, random);
      // The attacker knows every other stay (the strongest adversary): the optimal statistic is
      // the difference of the two counts' excesses over what the other stays put there.
      const score =
        released.positives[targetBin] -
        others.positives[targetBin] -
        (released.negatives[targetBin] - others.negatives[targetBin]);
      if (score > 0 === died) correct++;
    }
    const bound = cdf(Math.SQRT2 / (2 * sigma));
    const rate = correct / trials;
    const margin = 3 * Math.sqrt((bound * (1 - bound)) / trials);
    expect(rate).toBeLessThan(bound + margin);
    expect(rate).toBeLessThan(0.6);
  });

  it('the same attacker on an exact release is always right (the attack is real)', () => {
    const others = binRisks(...(Object.values(sample(22, 224)) as [Float64Array, Float64Array]));
    for (const died of [true, false]) {
      const exact = binRisks(
        [...Array(1)].map(() => (died ? 1 : 0)),
        [0.06],
      );
      const combined = mergeHistograms([others, exact]);
      const score =
        combined.positives[4] - others.positives[4] - (combined.negatives[4] - others.negatives[4]);
      expect(score > 0).toBe(died);
    }
  });
});

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for a bound check. */
function erf(x: number): number {
  const sign = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return sign * y;
}

// The cut points are public and fixed: a change here changes what hospitals release.
test('the public evaluation cuts are the documented 13 bins', () => {
  expect(EVALUATION_RISK_CUTS).toEqual([
    0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1,
  ]);
});
