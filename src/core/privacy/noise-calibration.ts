import { gaussianEvent, poissonSampledEvent, selfComposedEvent } from './dp-event';
import { smallestNoiseMultiplier } from './calibration';
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
 * epsilon <= targetEpsilon at `delta` (smallestNoiseMultiplier: bracketing and bisection).
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
  return smallestNoiseMultiplier(epsilonAt, {
    targetEpsilon,
    tolerance,
    maxNoiseMultiplier: MAX_NOISE_MULTIPLIER,
  });
}
