/**
 * The few statistics a benchmark report needs: order statistics of repeated timings and a
 * t-based confidence interval of a mean over seeds. Pure functions of plain arrays.
 */

export interface Summary {
  median: number;
  /** First and third quartiles (linear interpolation between order statistics, as numpy's default). */
  q1: number;
  q3: number;
  min: number;
  max: number;
  /** How many values the summary is over. */
  repeats: number;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('cannot summarise an empty list of values');
  if (!values.every(Number.isFinite)) throw new RangeError('every value must be a finite number');
  return [...values].sort((a, b) => a - b);
}

/** The p-quantile (0 <= p <= 1) of already-sorted values, numpy's 'linear' method. */
function quantileOfSorted(s: readonly number[], p: number): number {
  const position = (s.length - 1) * p;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return s[lo] + (s[hi] - s[lo]) * (position - lo);
}

export function quantile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile p must be in [0, 1], got ${p}`);
  return quantileOfSorted(sorted(values), p);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  return {
    median: quantileOfSorted(s, 0.5),
    q1: quantileOfSorted(s, 0.25),
    q3: quantileOfSorted(s, 0.75),
    min: s[0],
    max: s[s.length - 1],
    repeats: s.length,
  };
}

/** Interquartile range q3 − q1. */
export function iqr(summary: Summary): number {
  return summary.q3 - summary.q1;
}

/** Applies f to every order statistic (f must be monotone increasing, e.g. scaling by a positive number). */
export function mapSummary(summary: Summary, f: (x: number) => number): Summary {
  return {
    median: f(summary.median),
    q1: f(summary.q1),
    q3: f(summary.q3),
    min: f(summary.min),
    max: f(summary.max),
    repeats: summary.repeats,
  };
}

/**
 * Throughput of `subject` relative to `baseline`: (subjectWork / subjectSeconds) /
 * (baselineWork / baselineSeconds). With equal work it is baselineSeconds / subjectSeconds, so
 * 1 means "as fast as the baseline" and 0.25 "a quarter of the baseline's speed".
 */
export function throughputRatio(
  baselineSeconds: number,
  subjectSeconds: number,
  baselineWork = 1,
  subjectWork = 1,
): number {
  if (!(baselineSeconds > 0) || !(subjectSeconds > 0))
    throw new RangeError('times must be positive to form a ratio');
  return subjectWork / subjectSeconds / (baselineWork / baselineSeconds);
}

/**
 * Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (any statistics table,
 * e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2); beyond 30 the normal 1.96 is within 4 %.
 */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export interface MeanInterval {
  mean: number;
  /** Sample standard deviation (n − 1 denominator); 0 for one value. */
  sd: number;
  /** 95 % t interval mean ± t(0.975, n−1)·sd/√n; equal to the mean when n = 1 (no interval). */
  low: number;
  high: number;
  n: number;
}

export function meanInterval95(values: readonly number[]): MeanInterval {
  const s = sorted(values);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, sd: 0, low: mean, high: mean, n };
  const sd = Math.sqrt(s.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const t = n - 1 <= T_975.length ? T_975[n - 2] : 1.96;
  const half = (t * sd) / Math.sqrt(n);
  return { mean, sd, low: mean - half, high: mean + half, n };
}

export interface PowerLawFit {
  /** b in y ≈ a·x^b: the least-squares slope of log y on log x (the growth exponent). */
  exponent: number;
  /** a. */
  coefficient: number;
  /** R² of the fit in log-log space (1 for points exactly on a power law). */
  rSquared: number;
  points: number;
}

/**
 * Fits y ≈ a·x^b by ordinary least squares on (log x, log y): b = 1 is linear growth, 2 quadratic.
 * Needs at least two distinct positive x and positive y.
 */
export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): PowerLawFit {
  if (xs.length !== ys.length) throw new RangeError('x and y must have the same length');
  if (xs.length < 2) throw new RangeError('a power-law fit needs at least two points');
  if (![...xs, ...ys].every((v) => Number.isFinite(v) && v > 0))
    throw new RangeError('a power-law fit needs positive finite values');
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const n = lx.length;
  const mx = lx.reduce((a, b) => a + b, 0) / n;
  const my = ly.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (lx[i] - mx) ** 2;
    sxy += (lx[i] - mx) * (ly[i] - my);
    syy += (ly[i] - my) ** 2;
  }
  if (sxx === 0) throw new RangeError('a power-law fit needs at least two distinct x');
  const exponent = sxy / sxx;
  const rSquared = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { exponent, coefficient: Math.exp(my - exponent * mx), rSquared, points: n };
}
