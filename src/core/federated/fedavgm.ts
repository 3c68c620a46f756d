import { weightedMeanDelta, type Weighting } from './weighted-mean';
import { applyStep, type AggregationStrategy } from './strategy';
import { isNumberArray } from './adaptive-server';
import { plainReport, serverStrategy, type ServerStep } from './server-step';

export interface FedAvgMOptions {
  /** eta, the server learning rate (1 with momentum 0 is plain FedAvg). */
  serverLearningRate: number;
  /** beta, the server momentum; default 0.9 (Hsu, Qi, Brown 2019 report it best on non-IID data). */
  momentum?: number;
  /** 'examples' (default) weights each hospital by numExamples, as FedAvg does. */
  weighting?: Weighting;
}

/**
 * FedAvgM: FedAvg with server momentum (Hsu, Qi, Brown 2019, "Measuring the Effects of Non-Identical
 * Data Distribution for Federated Visual Classification", Sec. 3):
 *   v_t = β·v_{t-1} + Δ_t,   x_{t+1} = x_t + η·v_t,   v_{-1} = 0,
 * with Δ_t the round's (weighted) mean update. Momentum smooths the round-to-round swings that
 * hospitals with different case mixes cause. State: { v: number[] }.
 */
export function fedAvgM(options: FedAvgMOptions): AggregationStrategy {
  const eta = options.serverLearningRate;
  const beta = options.momentum ?? 0.9;
  const weighting = options.weighting ?? 'examples';
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new RangeError(`serverLearningRate must be positive, got ${eta}`);
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`server momentum must be in [0, 1), got ${beta}`);
  const name = 'fedavgm';
  const step: ServerStep = (global, round, state) => {
    const delta = weightedMeanDelta(round.sorted, weighting);
    const previous = state?.v;
    if (previous !== undefined && !isNumberArray(previous, global.length))
      throw new Error(`fedavgm state must hold v as an array of ${global.length} finite numbers`);
    const v = previous === undefined ? new Float64Array(global.length) : Float64Array.from(previous);
    const update = new Float64Array(global.length);
    for (let i = 0; i < global.length; i++) {
      v[i] = beta * v[i] + delta[i];
      update[i] = eta * v[i];
    }
    return {
      weights: applyStep(global, update),
      state: { v: Array.from(v) },
      report: plainReport(name, round),
    };
  };
  return serverStrategy(name, step);
}
