import { applyStep, type AggregationStrategy, type ClientUpdate } from './strategy';
import { plainReport, serverStrategy, type ServerStep } from './server-step';

export interface RobustAggregationOptions {
  /** eta, applied to the robust mean update; default 1. */
  serverLearningRate?: number;
}

export interface TrimmedMeanOptions extends RobustAggregationOptions {
  /** β: the fraction of updates dropped at each end of every coordinate, in [0, 0.5). Default 0.1. */
  trimFraction?: number;
}

/**
 * Byzantine-robust aggregation (Yin, Chen, Kannan, Bartlett 2018, "Byzantine-Robust Distributed
 * Learning: Towards Optimal Statistical Rates", Def. 1 and 2): every coordinate of the new model
 * moves by the median, or the β-trimmed mean, of the hospitals' updates at that coordinate, so one
 * hospital with an extreme update cannot drag the model. They need every update in the clear:
 * they exclude secure aggregation and DP-FedAvg's noisy sum (the config refuses the combination),
 * and they weigh hospitals equally (a weight would let a large one dominate, which they exist to
 * prevent).
 */
export function coordinateMedian(options: RobustAggregationOptions = {}): AggregationStrategy {
  return robustStrategy('median', options.serverLearningRate ?? 1, (values) => median(values));
}

export function trimmedMean(options: TrimmedMeanOptions = {}): AggregationStrategy {
  const beta = options.trimFraction ?? 0.1;
  if (!(beta >= 0 && beta < 0.5)) throw new RangeError(`trimFraction must be in [0, 0.5), got ${beta}`);
  return robustStrategy('trimmed-mean', options.serverLearningRate ?? 1, (values) => {
    const k = Math.floor(beta * values.length);
    let sum = 0;
    for (let i = k; i < values.length - k; i++) sum += values[i];
    return sum / (values.length - 2 * k);
  });
}

/** `combine` receives one coordinate's values over the hospitals, sorted ascending. */
function robustStrategy(
  name: string,
  eta: number,
  combine: (sortedValues: Float64Array) => number,
): AggregationStrategy {
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new RangeError(`serverLearningRate must be positive, got ${eta}`);
  const step: ServerStep = (global, round) => {
    const update = coordinateWise(round.sorted, combine);
    if (eta !== 1) for (let i = 0; i < update.length; i++) update[i] *= eta;
    return { weights: applyStep(global, update), state: {}, report: plainReport(name, round) };
  };
  return serverStrategy(name, step);
}

function coordinateWise(
  updates: readonly ClientUpdate[],
  combine: (sortedValues: Float64Array) => number,
): Float64Array {
  const length = updates[0].delta.length;
  const out = new Float64Array(length);
  const column = new Float64Array(updates.length);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < updates.length; k++) column[k] = updates[k].delta[i];
    column.sort();
    out[i] = combine(column);
  }
  return out;
}

function median(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
