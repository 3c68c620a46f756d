// Bound once: in a sandboxed context (jest's vm) each `Math.x` lookup is slow (log-space.ts).
const { abs, exp, log, log1p, sqrt } = Math;
/**
 * Special functions the sampled-Gaussian accountant needs, to double precision: log n!, log C(n, k)
 * for integer n, and log erfc(x) that stays accurate far into the tail (where erfc underflows).
 */

const logFactorialTable: number[] = [0];

/** log(n!) for a non-negative integer n, from a cumulative table (exact summation of log k). */
export function logFactorial(n: number): number {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`logFactorial needs a non-negative integer, got ${n}`);
  for (let k = logFactorialTable.length; k <= n; k++)
    logFactorialTable.push(logFactorialTable[k - 1] + log(k));
  return logFactorialTable[n];
}

/** log C(n, k) for integers 0 <= k <= n. */
export function logBinomial(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const LOG_SQRT_PI = 0.5 * log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / sqrt(Math.PI);

/**
 * erf(x) for 0 <= x < 2 by the all-positive series
 * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))  (Abramowitz & Stegun 7.1.6),
 * which has no cancellation.
 */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  const twoX2 = 2 * x * x;
  for (let n = 1; n < 200; n++) {
    term *= twoX2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * exp(-x * x) * sum;
}

/**
 * log(erfc(x) * sqrt(pi) * exp(x^2)) for x >= 2, from the continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))  (A&S 7.1.14),
 * evaluated by the modified Lentz algorithm.
 */
function logScaledErfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const step = c * d;
    f *= step;
    if (abs(step - 1) < 1e-16) break;
  }
  return -log(f);
}

/** log(erfc(x)) for any finite x, accurate where erfc(x) itself would underflow to 0. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x < 0) {
    // erfc(x) = 2 - erfc(-x), which lies in (1, 2]: no precision issue.
    return log(2 - exp(logErfc(-x)));
  }
  if (x < 2) return log1p(-erfSeries(x));
  return -x * x - LOG_SQRT_PI + logScaledErfcContinuedFraction(x);
}

/** The standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2. */
export function standardNormalCdf(x: number): number {
  return 0.5 * exp(logErfc(-x / Math.SQRT2));
}
