/**
 * The smallest noise multiplier z with epsilonAt(z) <= targetEpsilon, for any mechanism whose ε is
 * non-increasing in z (every Gaussian-based event HIMAS composes). Bracketing by doubling or halving,
 * then bisection to a relative bracket of `tolerance`; the returned z always meets the target.
 */
export interface SmallestNoiseOptions {
  targetEpsilon: number;
  /** Relative width of the final bracket on z (default 1e-6). */
  tolerance?: number;
  /** Give up above this z (default 1e6): the target is unreachable with any useful noise. */
  maxNoiseMultiplier?: number;
}

export class UnreachableEpsilonError extends RangeError {}

export function smallestNoiseMultiplier(
  epsilonAt: (noiseMultiplier: number) => number,
  options: SmallestNoiseOptions,
): { noiseMultiplier: number; epsilon: number } {
  const { targetEpsilon } = options;
  const tolerance = options.tolerance ?? 1e-6;
  const max = options.maxNoiseMultiplier ?? 1e6;
  if (!(targetEpsilon > 0) || !Number.isFinite(targetEpsilon))
    throw new RangeError(`targetEpsilon must be positive and finite, got ${targetEpsilon}`);
  if (!(tolerance > 0 && tolerance < 1))
    throw new RangeError(`tolerance must be in (0, 1), got ${tolerance}`);

  let hi = 1;
  let epsilonHi = epsilonAt(hi);
  let lo: number;
  if (epsilonHi > targetEpsilon) {
    do {
      lo = hi;
      hi *= 2;
      if (hi > max)
        throw new UnreachableEpsilonError(
          `no noise multiplier up to ${max} reaches epsilon ${targetEpsilon}`,
        );
      epsilonHi = epsilonAt(hi);
    } while (epsilonHi > targetEpsilon);
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
