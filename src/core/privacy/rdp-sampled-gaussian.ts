import { logAdd, logSub } from './log-space';
import { logBinomial, logErfc } from './special-functions';

// Bound once: in a sandboxed context (jest's vm) each `Math.x` lookup is slow (log-space.ts).
const { abs, ceil, floor, log, log1p, max, min } = Math;

/**
 * Rényi DP of the Poisson-sampled Gaussian mechanism (SGM) under add-or-remove-one adjacency:
 * Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism"
 * (arXiv:1908.10530). With mu0 = N(0, sigma^2), mu1 = N(1, sigma^2) and mu = (1-q) mu0 + q mu1,
 * the RDP at order alpha is log(A_alpha) / (alpha - 1), where A_alpha = E_{z~mu0}[(mu(z)/mu0(z))^alpha]
 * (Sec. 3, Theorem 4 / Eq. for A_alpha). Integer orders use the binomial expansion (Sec. 3.2),
 * fractional orders the two-series expansion split at z0 (Sec. 3.3); both are summed in log space.
 */
export function rdpOfSampledGaussian(q: number, noiseMultiplier: number, order: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling probability must be in [0, 1], got ${q}`);
  if (!(noiseMultiplier >= 0)) throw new RangeError(`noise multiplier must be >= 0, got ${noiseMultiplier}`);
  if (!(order >= 1)) throw new RangeError(`RDP order must be >= 1, got ${order}`);
  // Nothing is released about anyone when no record is ever sampled, whatever the noise.
  if (q === 0) return 0;
  if (order === Infinity || noiseMultiplier === 0) return Infinity;
  // Unsampled Gaussian mechanism with sensitivity 1: D_alpha(N(1, s^2) || N(0, s^2)) = alpha / (2 s^2)
  // (Mironov 2017, "Rényi Differential Privacy", Table II).
  if (q === 1) return order / (2 * noiseMultiplier * noiseMultiplier);
  if (order === 1)
    throw new RangeError('order 1 (KL) is not supported for the sampled Gaussian with 0 < q < 1');
  const logA = Number.isInteger(order)
    ? logAInteger(q, noiseMultiplier, order)
    : logAFractional(q, noiseMultiplier, order);
  return logA / (order - 1);
}

/**
 * log A_alpha for integer alpha (Mironov et al. 2019, Sec. 3.2):
 * A_alpha = sum_{i=0}^{alpha} C(alpha, i) (1-q)^(alpha-i) q^i exp((i^2 - i) / (2 sigma^2)).
 */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = log(q);
  const log1mQ = log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    const term = logBinomial(alpha, i) + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoSigma2;
    logA = logAdd(logA, term);
  }
  return logA;
}

const MAX_FRACTIONAL_TERMS = 1000;

/**
 * log A_alpha for fractional alpha (Mironov et al. 2019, Sec. 3.3): A_alpha = A_0 + A_1, the
 * integrals over (-inf, z0] and [z0, inf) with z0 = sigma^2 log(1/q - 1) + 1/2, each expanded as a
 * convergent binomial series with generalised coefficients C(alpha, i), which change sign for
 * i > alpha + 1; negative terms are subtracted in log space, which gives A_alpha itself rather than
 * the looser all-positive bound.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = log(q);
  const log1mQ = log1p(-q);
  const sigma2 = sigma * sigma;
  const z0 = sigma2 * log(1 / q - 1) + 0.5;
  const erfcScale = Math.SQRT2 * sigma;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  // The same series with every term taken positive: an upper bound on A_alpha (dp_accounting's newer
  // `_compute_log_a_frac` sums it). Used only if rounding makes a signed partial sum negative.
  let logBound0 = -Infinity;
  let logBound1 = -Infinity;
  let signedSumFailed = false;
  let lastS0 = Infinity;
  let lastS1 = Infinity;
  let upperBoundAfterPositiveTerm = Infinity;
  // C(alpha, i) kept as sign and log magnitude, updated by C(alpha, i+1) = C(alpha, i) (alpha - i) / (i + 1).
  let coefSign = 1;
  let logCoef = 0;
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    if (i > 0) {
      const factor = (alpha - (i - 1)) / i;
      if (factor < 0) coefSign = -coefSign;
      logCoef += log(abs(factor));
    }
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mQ;
    const logT1 = logCoef + j * logQ + i * log1mQ;
    const logE0 = log(0.5) + logErfc((i - z0) / erfcScale);
    const logE1 = log(0.5) + logErfc((z0 - j) / erfcScale);
    const logS0 = logT0 + (i * i - i) / (2 * sigma2) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma2) + logE1;
    logBound0 = logAdd(logBound0, logS0);
    logBound1 = logAdd(logBound1, logS1);
    if (coefSign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else if (!signedSumFailed) {
      if (logA0 < logS0 || logA1 < logS1) signedSumFailed = true;
      else {
        logA0 = logSub(logA0, logS0);
        logA1 = logSub(logA1, logS1);
      }
    }
    // Past i = alpha + 1 the coefficients alternate in sign. Once the terms also shrink, the series
    // is alternating with decreasing terms, so (Leibniz) the truncation error is at most the next
    // term and every partial sum ending on a positive term is an upper bound on A_alpha.
    const total = signedSumFailed ? logAdd(logBound0, logBound1) : logAdd(logA0, logA1);
    const largest = max(logS0, logS1);
    const alternatingAndShrinking = i > alpha + 1 && logS0 < lastS0 && logS1 < lastS1;
    // Stop below e^-30 outright (dp_accounting's original rule) or relative to the total (its newer one).
    if (largest < -30 || (alternatingAndShrinking && largest < total - 30)) {
      return signedSumFailed ? min(total, logAInterpolated(q, sigma, alpha)) : total;
    }
    if (!alternatingAndShrinking) upperBoundAfterPositiveTerm = Infinity;
    else if (coefSign > 0 && !signedSumFailed) upperBoundAfterPositiveTerm = total;
    lastS0 = logS0;
    lastS1 = logS1;
  }
  // Not converged to e^-30: the series decays only polynomially when q/(1-q) is near 1 or sigma is
  // small. Use a sound upper bound: the Leibniz bound if the tail is alternating and shrinking
  // (error below the last term, about 1000^-(alpha+2) relative), else the chord between the
  // neighbouring integer orders, valid because log A_alpha is convex in alpha (it is the cumulant
  // generating function of the privacy loss) and log A_1 = 0.
  return min(upperBoundAfterPositiveTerm, logAInterpolated(q, sigma, alpha));
}

function logAInterpolated(q: number, sigma: number, alpha: number): number {
  const lo = floor(alpha);
  const hi = ceil(alpha);
  const t = alpha - lo;
  const logALo = lo === 1 ? 0 : logAInteger(q, sigma, lo);
  return (1 - t) * logALo + t * logAInteger(q, sigma, hi);
}
