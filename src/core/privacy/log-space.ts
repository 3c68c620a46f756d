/**
 * Arithmetic on numbers stored as their natural logarithm, so that the sampled-Gaussian moment
 * sums (Mironov, Talwar, Zhang 2019, Sec. 3.2-3.3) neither overflow nor underflow. Zero is -Infinity.
 */

// Bound once: in a sandboxed context (jest's vm) every `Math.x` lookup goes through the global
// object, which made the accountant's inner loops about 15× slower there.
const { exp, expm1, log, log1p, max, min } = Math;

/** log(exp(logX) + exp(logY)). */
export function logAdd(logX: number, logY: number): number {
  const a = min(logX, logY);
  const b = max(logX, logY);
  if (a === -Infinity) return b;
  // exp(a) + exp(b) = (exp(a - b) + 1) * exp(b), with a - b <= 0 so nothing overflows.
  return log1p(exp(a - b)) + b;
}

/** log(exp(logX) - exp(logY)); the difference must be non-negative. */
export function logSub(logX: number, logY: number): number {
  if (logX < logY) throw new RangeError('logSub: the result of the subtraction would be negative');
  if (logY === -Infinity) return logX;
  if (logX === logY) return -Infinity;
  // exp(x) - exp(y) = (exp(x - y) - 1) * exp(y). When x - y is huge, expm1 overflows and the
  // subtrahend is negligible.
  const diff = logX - logY;
  if (diff > 700) return logX;
  return log(expm1(diff)) + logY;
}
