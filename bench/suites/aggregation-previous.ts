// The aggregation path as it was before the single-pass rewrite (validate every value with
// Number.isFinite, clip into a copy per update, sum, noise in a second loop, then the inner FedAvg
// validating, averaging into a fresh array and taking another norm), kept only as a named baseline
// so the benchmark can time old and new side by side in one run. Not used outside bench/ and tests.
import {
  clipToNorm,
  l2Norm,
  DP_AGGREGATE_ID,
  type AggregationContext,
  type ClientUpdate,
} from '../../src/core/federated';
import type { SecureRandom } from '../../src/core/random/random';

/** validateUpdates before the rewrite: Number.isFinite on every value, then sort by hospitalId. */
export function previousValidateUpdates(
  global: Float32Array,
  updates: readonly ClientUpdate[],
): ClientUpdate[] {
  if (updates.length === 0) throw new Error('cannot aggregate a round with no updates');
  for (let i = 0; i < global.length; i++) {
    if (!Number.isFinite(global[i])) throw new Error(`global weights have a non-finite value at index ${i}`);
  }
  const seen = new Set<string>();
  for (const update of updates) {
    const id = update.hospitalId;
    if (typeof id !== 'string' || id.length === 0)
      throw new Error('every update needs a non-empty hospitalId');
    if (seen.has(id)) throw new Error(`hospital ${id} sent more than one update this round`);
    seen.add(id);
    if (!(update.delta instanceof Float32Array))
      throw new Error(`hospital ${id}: delta must be a Float32Array`);
    if (update.delta.length !== global.length) {
      throw new Error(
        `hospital ${id}: delta has ${update.delta.length} values, the global model has ${global.length}`,
      );
    }
    for (let i = 0; i < update.delta.length; i++) {
      if (!Number.isFinite(update.delta[i])) {
        throw new Error(`hospital ${id}: delta has a non-finite value (${update.delta[i]}) at index ${i}`);
      }
    }
    if (!Number.isFinite(update.numExamples) || update.numExamples < 0) {
      throw new Error(
        `hospital ${id}: numExamples must be a finite non-negative number, got ${update.numExamples}`,
      );
    }
  }
  return [...updates].sort((a, b) =>
    a.hospitalId < b.hospitalId ? -1 : a.hospitalId > b.hospitalId ? 1 : 0,
  );
}

/** fedAvg(...).aggregate(...).weights before the rewrite. */
export function previousFedAvgWeights(
  global: Float32Array,
  updates: readonly ClientUpdate[],
  weighting: 'examples' | 'uniform',
  eta: number,
): { weights: Float32Array; updateNorms: Record<string, number> } {
  const sorted = previousValidateUpdates(global, updates);
  const length = sorted[0].delta.length;
  const mean = new Float64Array(length);
  let totalWeight = 0;
  for (const update of sorted) {
    const w = weighting === 'examples' ? update.numExamples : 1;
    totalWeight += w;
    for (let i = 0; i < length; i++) mean[i] += w * update.delta[i];
  }
  if (!(totalWeight > 0)) throw new Error('the updates carry no weight: every numExamples is 0');
  for (let i = 0; i < length; i++) mean[i] /= totalWeight;
  if (eta !== 1) for (let i = 0; i < length; i++) mean[i] *= eta;
  const weights = new Float32Array(global.length);
  for (let i = 0; i < global.length; i++) weights[i] = global[i] + mean[i];
  return {
    weights,
    updateNorms: Object.fromEntries(sorted.map((u) => [u.hospitalId, l2Norm(u.delta)])),
  };
}

/** dpFedAvg(fedAvg({ weighting, serverLearningRate: eta }), { clipNorm, noiseMultiplier }) before the rewrite. */
export function previousDpFedAvgWeights(
  global: Float32Array,
  updates: readonly ClientUpdate[],
  options: { clipNorm: number; noiseMultiplier: number; weighting?: 'examples' | 'uniform'; eta?: number },
  context: AggregationContext,
): { weights: Float32Array; updateNorms: Record<string, number>; clippedHospitals: string[] } {
  const { clipNorm, noiseMultiplier } = options;
  const sorted = previousValidateUpdates(global, updates);
  const m = context.expectedHospitals;
  const noiseStd = (noiseMultiplier * clipNorm) / m;
  const random: SecureRandom | undefined = context.random;
  if (noiseStd > 0 && (random === undefined || random.secure !== true))
    throw new Error('DP-FedAvg needs context.random to be a SecureRandom (node:crypto) to draw its noise');
  const sum = new Float64Array(global.length);
  const clippedHospitals: string[] = [];
  const updateNorms: Record<string, number> = {};
  for (const update of sorted) {
    const { clipped, norm, scale } = clipToNorm(update.delta, clipNorm);
    updateNorms[update.hospitalId] = norm;
    if (scale < 1) clippedHospitals.push(update.hospitalId);
    for (let i = 0; i < clipped.length; i++) sum[i] += clipped[i];
  }
  if (noiseStd > 0 && random !== undefined) {
    const noise = new Float64Array(global.length);
    random.fillStandardNormal(noise);
    const sumNoiseStd = noiseMultiplier * clipNorm;
    for (let i = 0; i < sum.length; i++) sum[i] += sumNoiseStd * noise[i];
  }
  const noisyAverage = new Float32Array(global.length);
  for (let i = 0; i < sum.length; i++) noisyAverage[i] = sum[i] / m;
  const inner = previousFedAvgWeights(
    global,
    [{ hospitalId: DP_AGGREGATE_ID, delta: noisyAverage, numExamples: 1 }],
    options.weighting ?? 'examples',
    options.eta ?? 1,
  );
  return { weights: inner.weights, updateNorms, clippedHospitals };
}

/**
 * Standard normals as CryptoRandom drew them before the ziggurat: Marsaglia's polar method on
 * node:crypto words (4 words per attempt, both of each pair used). Bench-only, to time the
 * previous noise draw next to the current one in the profile of the aggregation table.
 */
export function previousPolarNormals(
  out: Float64Array,
  words: Uint32Array,
  refill: (w: Uint32Array) => void,
): void {
  let w = words.length;
  let i = 0;
  while (i < out.length) {
    if (w + 4 > words.length) {
      refill(words);
      w = 0;
    }
    const u = (((words[w] >>> 5) * 67108864 + (words[w + 1] >>> 6)) / 9007199254740992) * 2 - 1;
    const v = (((words[w + 2] >>> 5) * 67108864 + (words[w + 3] >>> 6)) / 9007199254740992) * 2 - 1;
    w += 4;
    const s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * f;
    if (i < out.length) out[i++] = v * f;
  }
}
