/**
 * Fixed-point encoding of clipped float updates into Z_{2^32}, so that pairwise masks can be added
 * and cancelled exactly (Bonawitz et al. 2017, "Practical Secure Aggregation for
 * Privacy-Preserving Machine Learning", §3: inputs are vectors in Z_R^m, here R = 2^32).
 *
 * Encoding: q = round(v · scale), stored as a two's-complement int32 (so negative values are
 * R − |q| mod 2^32). The aggregator sees only Σ_k q_k mod 2^32; it is the exact integer sum as long
 * as |Σ_k q_k| < 2^31, which is what the scale is chosen for:
 *
 *   |v| ≤ B := C · (1 + 2^-10)        (an L2-clipped update has every |coordinate| ≤ C; the 2^-10
 *                                       headroom absorbs float32 rounding in clipping)
 *   |q| ≤ B · scale + 1/2
 *   overflow bound: K · (B · scale + 1/2) ≤ 2^31 − 1   ⇒   no wrap-around for K hospitals
 *
 * chooseFixedPointScale picks the largest power of two satisfying it (a power of two makes v·scale
 * exact in float64, so the only rounding is the round() itself).
 *
 * Rounding error: each |q/scale − v| ≤ 1/(2·scale), so per coordinate the decoded sum is within
 * K/(2·scale) of the true sum and the average (÷ m) within K/(2·scale·m) ≤ 1/(2·scale) when K ≤ m,
 * plus the float32 rounding of the result (relative 2^-24). With C = 1, K = 10: scale = 2^27,
 * error ≤ 3.7e-8 on the sum.
 */

const TWO_POW_31_MINUS_1 = 2147483647;
/** Clipping in float32 can land a hair above C: values up to C·(1 + 2^-10) are accepted. */
export const FIXED_POINT_HEADROOM = 1 + 2 ** -10;
const HEADROOM = FIXED_POINT_HEADROOM;

export interface FixedPointParameters {
  /** C: every coordinate of an encoded update satisfies |v| ≤ C (up to the 2^-10 headroom). */
  clipNorm: number;
  /** K: the most updates that will ever be summed (the round's expected hospitals). */
  maxHospitals: number;
  /** Integer units per float unit (a power of two). */
  scale: number;
}

/** The largest power-of-two scale with K · (C·(1+2^-10)·scale + 1/2) ≤ 2^31 − 1 (see the file comment). */
export function chooseFixedPointScale(clipNorm: number, maxHospitals: number): FixedPointParameters {
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm))
    throw new RangeError(`clipNorm must be positive and finite, got ${clipNorm}`);
  if (!Number.isInteger(maxHospitals) || maxHospitals < 1)
    throw new RangeError(`maxHospitals must be a positive integer, got ${maxHospitals}`);
  const limit = (TWO_POW_31_MINUS_1 / maxHospitals - 0.5) / (clipNorm * HEADROOM);
  if (!(limit >= 2 ** -1074)) throw new RangeError(`no fixed-point scale fits ${maxHospitals} hospitals`);
  const scale = 2 ** Math.floor(Math.log2(limit));
  // log2 may round up at an exact power of two: step down if the bound does not hold.
  const fits = (s: number): boolean => maxHospitals * (clipNorm * HEADROOM * s + 0.5) <= TWO_POW_31_MINUS_1;
  return { clipNorm, maxHospitals, scale: fits(scale) ? scale : scale / 2 };
}

/** Per-coordinate bound on |decoded average − true average| (the file comment's K/(2·scale·m)). */
export function fixedPointErrorBound(params: FixedPointParameters, denominator: number): number {
  return params.maxHospitals / (2 * params.scale * denominator);
}

/** q = round(v · scale) mod 2^32 as int32; rejects non-finite values and |v| above C·(1+2^-10). */
export function encodeFixedPoint(values: Float32Array, params: FixedPointParameters): Int32Array {
  const bound = params.clipNorm * HEADROOM;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Math.abs(v) <= bound)) {
      throw new RangeError(
        `update value ${i} is ${v}, outside ±${params.clipNorm} (clip the update before encoding it)`,
      );
    }
    out[i] = Math.round(v * params.scale);
  }
  return out;
}

/**
 * Decodes a modular sum of encoded updates to the average with a fixed denominator m (DP-FedAvg's
 * expected hospitals): the int32 value of each coordinate is the exact signed sum by the overflow
 * bound, so average = sum / (scale · m).
 */
export function decodeFixedPointAverage(
  sum: Int32Array,
  params: FixedPointParameters,
  denominator: number,
): Float32Array {
  if (!(denominator > 0)) throw new RangeError(`denominator must be positive, got ${denominator}`);
  const factor = 1 / (params.scale * denominator);
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] * factor;
  return out;
}
