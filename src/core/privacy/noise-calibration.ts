import { gaussianEvent, poissonSampledEvent, selfComposedEvent } from './dp-event';
import { computeEpsilon, DEFAULT_RDP_ORDERS } from './rdp-accountant';

export interface NoiseCalibrationOptions {
  targetEpsilon: number;
  delta: number;
  samplingProbability: number;
  steps: number;
  orders?: readonly number[];
  /** Relative width of the final bracket on the noise multiplier (default 1e-6). */
  tolerance?: number;
}

const MAX_NOISE_MULTIPLIER = 1e6;

/**
 * The smallest noise multiplier z for which `steps` rounds of the Poisson-sampled Gaussian reach
 * epsilon <= targetEpsilon at `delta`. Epsilon is non-increasing in z, so the answer is found by
 * bracketing (doubling / halving) and bisection; the returned z always satisfies the target.
 */
export function noiseMultiplierForEpsilon(options: NoiseCalibrationOptions): {
  noiseMultiplier: number;
  epsilon: number;
} {
  const { targetEpsilon, delta, samplingProbability, steps } = options;
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  const tolerance = options.tolerance ?? 1e-6;
  if (!(targetEpsilon > 0) || !Number.isFinite(targetEpsilon)) {
    throw new RangeError(`targetEpsilon must be positive and finite, got ${targetEpsilon}`);
  }
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (!(tolerance > 0 && tolerance < 1))
    throw new RangeError(`tolerance must be in (0, 1), got ${tolerance}`);
  const epsilonAt = (z: number): number =>
    computeEpsilon(
      selfComposedEvent(poissonSampledEvent(samplingProbability, gaussianEvent(z)), steps),
      delta,
      orders,
    ).epsilon;

  let hi = 1;
  let epsilonHi = epsilonAt(hi);
  let lo = 0;
  if (epsilonHi > targetEpsilon) {
    while (epsilonHi > targetEpsilon) {
      lo = hi;
      hi *= 2;
      if (hi > MAX_NOISE_MULTIPLIER) {
        throw new RangeError(
          `no noise multiplier up to ${MAX_NOISE_MULTIPLIER} reaches epsilon ${targetEpsilon}`,
        );
      }
      epsilonHi = epsilonAt(hi);
    }
  } else {
    lo = hi / 2;
    while (epsilonAt(lo) <= targetEpsilon) {
      hi = lo;
      lo /= 2;
      // With q = 0 (or a target this loose) any noise at all will do.
      if (lo < 1e-12) return { noiseMultiplier: hi, epsilon: epsilonAt(hi) };
    }
    epsilonHi = epsilonAt(hi);
  }
  // Invariant: epsilonAt(lo) > target >= epsilonAt(hi).
  while (hi - lo > tolerance * hi) {
    const mid = (lo + hi) / 2;
    const epsilonMid = epsilonAt(mid);
    if (epsilonMid <= targetEpsilon) {
      hi = mid;
      epsilonHi = epsilonMid;
    } else {
      lo = mid;
    }
  }
  return { noiseMultiplier: hi, epsilon: epsilonHi };
}
