import { poissonSamplingPlan } from '../privacy/patient-level-plan';
import type { Random } from '../random/random';
import type { BatchSchedule } from './batching';

/**
 * Poisson-sampled batches, as the RDP analysis of the sampled Gaussian assumes (Mironov, Talwar,
 * Zhang 2019; Abadi et al. 2016): each of round(N / batchSize) steps includes every row
 * independently with probability q = batchSize / N. Batch sizes vary and may be 0 (that step then
 * releases noise only). Rows come out in increasing order.
 *
 * Instead of one Bernoulli draw per row and step (O(N) per step, O(N²/B) per epoch), the gaps
 * between included rows are drawn from the geometric distribution P(gap = k) = (1 − q)^k·q by
 * inversion, k = ⌊ln(1 − u) / ln(1 − q)⌋ (Devroye 1986, Non-Uniform Random Variate Generation,
 * Sec. X.2), which gives the same Bernoulli(q) inclusions in O(qN) per step.
 */
export const poissonBatches: BatchSchedule = (rows, batchSize, random) => {
  const { samplingProbability: q, stepsPerEpoch } = poissonSamplingPlan(rows, batchSize);
  const batches: Int32Array[] = [];
  for (let step = 0; step < stepsPerEpoch; step++) batches.push(poissonSample(rows, q, random));
  return batches;
};

/** One Poisson sample of row indices 0..rows−1 with inclusion probability q. */
export function poissonSample(rows: number, q: number, random: Random): Int32Array {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling probability must be in [0, 1], got ${q}`);
  if (q === 1) return Int32Array.from({ length: rows }, (_, i) => i);
  const picked: number[] = [];
  if (q === 0) return new Int32Array(0);
  const logNotQ = Math.log1p(-q);
  // 1 − u is in (0, 1], so the logarithm is finite and ≤ 0.
  for (let i = Math.floor(Math.log1p(-random.nextDouble()) / logNotQ); i < rows;) {
    picked.push(i);
    i += 1 + Math.floor(Math.log1p(-random.nextDouble()) / logNotQ);
  }
  return Int32Array.from(picked);
}
