import type { ClientUpdate } from './strategy';

export type Weighting = 'examples' | 'uniform';

/** sum_k w_k Delta_k / sum_k w_k in float64, in the order given (callers pass sorted updates). */
export function weightedMeanDelta(updates: readonly ClientUpdate[], weighting: Weighting): Float64Array {
  const length = updates[0].delta.length;
  const sum = new Float64Array(length);
  let totalWeight = 0;
  for (const update of updates) {
    const w = weighting === 'examples' ? update.numExamples : 1;
    totalWeight += w;
    const delta = update.delta;
    for (let i = 0; i < length; i++) sum[i] += w * delta[i];
  }
  if (!(totalWeight > 0)) throw new Error('the updates carry no weight: every numExamples is 0');
  for (let i = 0; i < length; i++) sum[i] /= totalWeight;
  return sum;
}
