import { FIXED_POINT_HEADROOM, type FixedPointParameters } from './fixed-point';
import { SecureAggregationError } from './errors';

/**
 * The check after unmasking: the sum of K clipped updates has every |coordinate| ≤ K·C and
 * L2 norm ≤ K·C (each update has ‖Δ‖₂ ≤ C, hence every |Δ[j]| ≤ C). Masks hide each update, so
 * the aggregator cannot check one hospital's norm; it can check the sum. A hospital that encodes
 * values outside ±C — or wraps the int32 ring so the modular sum lands anywhere — produces a sum
 * that fails here with overwhelming probability, and one that passes moved the sum by at most
 * (2K − 1)·C in L2 (the bound minus what the K − 1 honest ones can contribute): poisoning within
 * a bound, not an unbounded wrap. Rounding allowance: each encoded value is within 1/(2·scale) of
 * its float (src/core/secure-aggregation/fixed-point.ts), so K values add ≤ K/(2·scale) per
 * coordinate and ≤ K·√P/(2·scale) in L2, plus C's 2^-10 headroom for float32 clipping.
 */
export class SumOutOfBoundsError extends SecureAggregationError {
  constructor(
    message: string,
    /** Where the check failed: a coordinate index, or -1 for the L2 norm. */
    readonly coordinate: number,
  ) {
    super(message);
    this.name = 'SumOutOfBoundsError';
  }
}

export interface SumBounds {
  /** Largest |Σ[j]| in fixed-point units K·(C·(1+2^-10)·scale + 1/2). */
  coordinateLimit: number;
  /** Largest ‖Σ‖₂ in float units K·(C·(1+2^-10) + √P/(2·scale)). */
  normLimit: number;
}

export function sumBounds(params: FixedPointParameters, hospitals: number, length: number): SumBounds {
  if (!Number.isInteger(hospitals) || hospitals < 1)
    throw new RangeError(`hospitals must be a positive integer, got ${hospitals}`);
  const c = params.clipNorm * FIXED_POINT_HEADROOM;
  return {
    coordinateLimit: hospitals * (c * params.scale + 0.5),
    normLimit: hospitals * (c + Math.sqrt(length) / (2 * params.scale)),
  };
}

/**
 * Throws SumOutOfBoundsError (what failed, by how much, what it means) unless the unmasked sum of
 * `hospitals` updates is within both bounds; `sum` holds the signed int32 fixed-point sum.
 */
export function checkSumBounds(sum: Int32Array, params: FixedPointParameters, hospitals: number): void {
  const { coordinateLimit, normLimit } = sumBounds(params, hospitals, sum.length);
  let squares = 0;
  for (let j = 0; j < sum.length; j++) {
    const q = sum[j];
    if (Math.abs(q) > coordinateLimit) {
      throw new SumOutOfBoundsError(
        `unmasked sum coordinate ${j} is ${(q / params.scale).toPrecision(6)}, outside ±${hospitals}·C = ±${(hospitals * params.clipNorm).toPrecision(6)}: a hospital sent values beyond its clip norm (or wrapped the int32 sum); the round is not released`,
        j,
      );
    }
    const v = q / params.scale;
    squares += v * v;
  }
  const norm = Math.sqrt(squares);
  if (norm > normLimit) {
    throw new SumOutOfBoundsError(
      `unmasked sum has L2 norm ${norm.toPrecision(6)} > ${hospitals}·C = ${(hospitals * params.clipNorm).toPrecision(6)}: a hospital sent an update over its clip norm; the round is not released`,
      -1,
    );
  }
}
