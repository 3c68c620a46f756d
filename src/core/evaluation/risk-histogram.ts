import type { RiskHistogram } from '../../../schemas/metrics';
import type { Random, SecureRandom } from '../random/random';

/**
 * What a hospital says about a model on its own test split: per-class counts of predicted risk in
 * a few public bins, with Gaussian noise on every count (a DP release, charged to the hospital's
 * ledger before the test split is read). One stay adds 1 to one count, so the L2 sensitivity is 1
 * and the noise SD is the noise multiplier. Pooled metrics are post-processing of the sum of the
 * hospitals' noisy histograms (pooled-metrics.ts).
 *
 * Why coarse bins: with 1000 bins almost every stay had a bin of its own and its label could be read
 * off the exact counts; with these 13 bins the noise is spread over 26 counts, each wide enough to
 * hold many stays, while AUROC computed with ties inside a bin stays close to the exact value
 * (measured in test/unit/core/evaluation/pooled-metrics.test.ts). The cut points are fixed in
 * advance, never computed from data, and finer where ICU-mortality risks concentrate.
 */
export const EVALUATION_RISK_CUTS: readonly number[] = Object.freeze([
  0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1,
]);

/** Exact per-class counts of risks in the bins [cuts[b], cuts[b+1]) (the last bin includes 1). */
export function binRisks(
  labels: ArrayLike<number>,
  risks: ArrayLike<number>,
  cuts: readonly number[] = EVALUATION_RISK_CUTS,
): RiskHistogram {
  if (labels.length !== risks.length)
    throw new Error(`labels (${labels.length}) and risks (${risks.length}) differ in length`);
  assertCuts(cuts);
  const bins = cuts.length - 1;
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = risks[i];
    if (!(p >= 0 && p <= 1)) throw new Error(`risk ${p} at row ${i} is not a probability`);
    const bin = binOf(p, cuts);
    if (labels[i] === 1) positives[bin]++;
    else negatives[bin]++;
  }
  return { cuts: [...cuts], positives, negatives, noiseStd: 0 };
}

/** The Gaussian mechanism on every count: N(0, noiseStd²) each, from a secure source. */
export function noisyHistogram(exact: RiskHistogram, noiseStd: number, random: SecureRandom): RiskHistogram {
  if (!(noiseStd > 0) || !Number.isFinite(noiseStd))
    throw new RangeError(`evaluation noise SD must be positive and finite, got ${noiseStd}`);
  if ((random as { secure?: unknown }).secure !== true)
    throw new TypeError('evaluation noise needs a SecureRandom (node:crypto), not a seeded generator');
  const noise = new Float64Array(2 * exact.positives.length);
  random.fillStandardNormal(noise);
  const bins = exact.positives.length;
  return {
    cuts: [...exact.cuts],
    positives: exact.positives.map((c, b) => c + noiseStd * noise[b]),
    negatives: exact.negatives.map((c, b) => c + noiseStd * noise[bins + b]),
    noiseStd: Math.hypot(exact.noiseStd, noiseStd),
  };
}

/** Sum of histograms over the same cuts; the noise SD of the sum is the root sum of squares. */
export function mergeHistograms(parts: readonly RiskHistogram[]): RiskHistogram {
  if (parts.length === 0) throw new Error('no histograms to merge');
  const [first] = parts;
  const merged: RiskHistogram = {
    cuts: [...first.cuts],
    positives: first.positives.map(() => 0),
    negatives: first.negatives.map(() => 0),
    noiseStd: 0,
  };
  let variance = 0;
  for (const part of parts) {
    if (!sameCuts(part.cuts, first.cuts))
      throw new Error(
        `cannot merge histograms with cuts [${part.cuts.join(', ')}] and [${first.cuts.join(', ')}]`,
      );
    part.positives.forEach((c, b) => (merged.positives[b] += c));
    part.negatives.forEach((c, b) => (merged.negatives[b] += c));
    variance += part.noiseStd * part.noiseStd;
  }
  merged.noiseStd = Math.sqrt(variance);
  return merged;
}

/** Another draw of the noise on a released histogram: the parametric bootstrap of its DP noise. */
export function resampleNoise(h: RiskHistogram, random: Random): RiskHistogram {
  const draw = () => h.noiseStd * standardNormal(random);
  return {
    cuts: h.cuts,
    positives: h.positives.map((c) => c + draw()),
    negatives: h.negatives.map((c) => c + draw()),
    noiseStd: h.noiseStd,
  };
}

export function sameCuts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function binOf(p: number, cuts: readonly number[]): number {
  let lo = 0;
  let hi = cuts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (p >= cuts[mid]) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function assertCuts(cuts: readonly number[]): void {
  const ok =
    cuts.length >= 3 &&
    cuts[0] === 0 &&
    cuts.at(-1) === 1 &&
    cuts.every((c, i) => i === 0 || c > cuts[i - 1]);
  if (!ok)
    throw new RangeError(`risk cuts must rise from 0 to 1 with at least 2 bins, got [${cuts.join(', ')}]`);
}

/** Box–Muller on the generator's doubles (post-processing only: never privacy noise). */
function standardNormal(random: Random): number {
  const u = 1 - random.nextDouble();
  const v = random.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
