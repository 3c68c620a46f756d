import { sumOfSquares } from '../kernels/aggregation-kernels';

/**
 * L2 norm, accumulated in float64 so long float32 vectors do not lose precision or overflow, in
 * the kernels' 8-lane order (src/core/kernels): the same bits validateRound and dpFedAvg use.
 */
export function l2Norm(v: Float32Array | Float64Array): number {
  return Math.sqrt(sumOfSquares(v));
}
