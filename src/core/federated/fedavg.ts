import { freshFloat32, stepOneInto } from '../kernels/aggregation-kernels';
import type { Weighting } from './weighted-mean';
import type { AggregationStrategy, ClientUpdate } from './strategy';
import { plainReport, serverStrategy, type ServerStep } from './server-step';

export interface FedAvgOptions {
  /** 'examples' (default) weights each hospital by numExamples, as in McMahan et al. 2017. */
  weighting?: Weighting;
  /** eta; 1 (default) is plain FedAvg. */
  serverLearningRate?: number;
}

/**
 * Federated averaging (McMahan, Moore, Ramage, Hampson, Agüera y Arcas 2017, "Communication-Efficient
 * Learning of Deep Networks from Decentralized Data", Alg. 1), in server-optimizer form
 * (Reddi et al. 2021, Alg. 1 with SGD as ServerOpt): new = global + eta * sum_k w_k Delta_k / sum_k w_k.
 */
export function fedAvg(options: FedAvgOptions = {}): AggregationStrategy {
  const weighting = options.weighting ?? 'examples';
  const eta = options.serverLearningRate ?? 1;
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new RangeError(`serverLearningRate must be positive, got ${eta}`);
  const name = 'fedavg';
  const step: ServerStep = (global, round) => ({
    weights: averagedStep(global, round.sorted, weighting, eta),
    state: {},
    report: plainReport(name, round),
  });
  return serverStrategy(name, step);
}

/**
 * global + eta * sum_k w_k Delta_k / sum_k w_k, rounded once to float32. The same float64
 * operations in the same order as weightedMeanDelta + applyStep (so the same bits), without the
 * intermediate arrays; one update (the DP wrapper's noisy average) needs no sum array at all.
 */
function averagedStep(
  global: Float32Array,
  sorted: readonly ClientUpdate[],
  weighting: Weighting,
  eta: number,
): Float32Array {
  const length = global.length;
  let totalWeight = 0;
  for (const update of sorted) totalWeight += weighting === 'examples' ? update.numExamples : 1;
  if (!(totalWeight > 0)) throw new Error('the updates carry no weight: every numExamples is 0');
  const out = freshFloat32(length);
  if (sorted.length === 1) {
    const w = weighting === 'examples' ? sorted[0].numExamples : 1;
    const delta = sorted[0].delta;
    // 0 + w·x, not w·x: the float64 sum starts at +0, which turns a -0 into +0 (SIMD kernel: src/core/kernels).
    stepOneInto(out, global, delta, w, totalWeight, eta);
    return out;
  }
  const sum = new Float64Array(length);
  for (const update of sorted) {
    const w = weighting === 'examples' ? update.numExamples : 1;
    const delta = update.delta;
    for (let i = 0; i < length; i++) sum[i] += w * delta[i];
  }
  if (eta === 1) for (let i = 0; i < length; i++) out[i] = global[i] + sum[i] / totalWeight;
  else for (let i = 0; i < length; i++) out[i] = global[i] + (sum[i] / totalWeight) * eta;
  return out;
}
