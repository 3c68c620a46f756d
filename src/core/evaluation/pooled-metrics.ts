import { logisticRecalibration } from '../metrics/calibration';
import type { Metrics, MetricIntervals, RiskHistogram } from '../../../schemas/metrics';
import type { Random } from '../random/random';
import { resampleNoise } from './risk-histogram';

/**
 * Metrics from a (pooled) risk histogram, post-processing of the hospitals' DP releases. Noisy
 * counts below zero count as zero; every stay in a bin is scored at the bin's midpoint, so AUROC
 * counts pairs within a bin as ties and O:E, Brier, loss and the calibration fit use midpoints.
 * `n` and `positives` are the raw noisy sums (unbiased; clamping each of 13 mostly sparse bins at
 * zero would add about 0.4·SD per empty bin). The metrics keep the clamped counts: on simulated
 * test splits of 150–3400 stays the clamped AUROC and O:E had the lower error (RMSE), though
 * biased towards 0.5 and 1 on small splits (docs/architecture.md §5).
 */
export function metricsFromHistogram(h: RiskHistogram): Metrics {
  const positives = h.positives.map(nonNegative);
  const negatives = h.negatives.map(nonNegative);
  const mids = h.positives.map((_, b) => (h.cuts[b] + h.cuts[b + 1]) / 2);
  const P = sum(positives);
  const N = sum(negatives);
  const n = P + N;
  let expected = 0;
  let squaredError = 0;
  let logLoss = 0;
  mids.forEach((p, b) => {
    const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
    expected += (positives[b] + negatives[b]) * p;
    squaredError += positives[b] * (1 - p) ** 2 + negatives[b] * p * p;
    logLoss -= positives[b] * Math.log(q) + negatives[b] * Math.log(1 - q);
  });
  const rawPositives = Math.max(0, sum(h.positives));
  const rawTotal = Math.max(0, rawPositives + sum(h.negatives));
  return {
    n: Math.round(rawTotal),
    positives: Math.round(Math.min(rawPositives, rawTotal)),
    auroc: P > 0 && N > 0 ? auroc(positives, negatives, P, N) : null,
    auprc: P > 0 ? averagePrecision(positives, negatives, P) : null,
    brier: n > 0 ? squaredError / n : null,
    observedExpectedRatio: expected > 0 ? P / expected : null,
    ...calibrationFit(mids, positives, negatives),
    loss: n > 0 ? logLoss / n : null,
  };
}

/**
 * 95 % intervals of each metric under the release's DP noise: a parametric bootstrap that draws the
 * noise again (`replicates` times) on the released counts. It says how far the noise alone can move
 * a figure; sampling variation of the test split comes on top. Approximate: on simulated test
 * splits of 600–3000 stays with noise SD 4–7 the nominal 95 % intervals covered the exact AUROC in
 * 82–93 % of releases and O:E in 85–95 % (test/unit/core/evaluation/pooled-metrics.test.ts).
 */
export function noiseIntervals(h: RiskHistogram, random: Random, replicates = 200): MetricIntervals {
  const keys = ['auroc', 'auprc', 'brier', 'observedExpectedRatio', 'calibrationSlope', 'loss'] as const;
  const draws: Record<(typeof keys)[number], number[]> = {
    auroc: [],
    auprc: [],
    brier: [],
    observedExpectedRatio: [],
    calibrationSlope: [],
    loss: [],
  };
  if (h.noiseStd === 0) return Object.fromEntries(keys.map((k) => [k, null])) as MetricIntervals;
  const point = metricsFromHistogram(h);
  for (let i = 0; i < replicates; i++) {
    const m = metricsFromHistogram(resampleNoise(h, random));
    for (const key of keys) {
      const value = m[key];
      if (value !== null && Number.isFinite(value)) draws[key].push(value);
    }
  }
  // The basic (reflected) bootstrap: noise drags clamped metrics one way (AUROC towards 0.5), so a
  // replicate sits off the release by about as much as the release sits off the truth; reflecting
  // the replicates' quantiles around the release corrects that first-order bias (Davison &
  // Hinkley 1997, eq. 5.6), where plain percentiles under-cover small, noisy test splits.
  const interval = (key: (typeof keys)[number]): [number, number] | null => {
    const values = draws[key];
    const estimate = point[key];
    if (estimate === null || values.length < replicates / 2) return null;
    return [2 * estimate - quantile(values, 0.975), 2 * estimate - quantile(values, 0.025)];
  };
  return Object.fromEntries(keys.map((k) => [k, interval(k)])) as MetricIntervals;
}

/** Mann–Whitney AUROC with every pair in one bin counted as a tie (½). */
function auroc(positives: number[], negatives: number[], P: number, N: number): number {
  let negativesBelow = 0;
  let concordant = 0;
  for (let b = 0; b < positives.length; b++) {
    concordant += positives[b] * (negativesBelow + 0.5 * negatives[b]);
    negativesBelow += negatives[b];
  }
  return concordant / (P * N);
}

/** Average precision (sklearn's step-wise definition), thresholds at bin edges from high to low risk. */
function averagePrecision(positives: number[], negatives: number[], P: number): number {
  let tp = 0;
  let fp = 0;
  let ap = 0;
  for (let b = positives.length - 1; b >= 0; b--) {
    if (positives[b] === 0 && negatives[b] === 0) continue;
    tp += positives[b];
    fp += negatives[b];
    ap += (positives[b] / P) * (tp / (tp + fp));
  }
  return ap;
}

/**
 * Logistic recalibration y ~ a + b·logit(p) (Cox 1958) on bin midpoints weighted by the counts,
 * the fit exact metrics use: slope b < 1 means over-confident predictions.
 */
function calibrationFit(
  mids: number[],
  positives: number[],
  negatives: number[],
): { calibrationSlope: number | null; calibrationIntercept: number | null } {
  const xs: number[] = [];
  const ys: number[] = [];
  const ws: number[] = [];
  mids.forEach((mid, b) => {
    const p = Math.min(1 - 1e-6, Math.max(1e-6, mid));
    const x = Math.log(p / (1 - p));
    for (const [label, count] of [
      [1, positives[b]],
      [0, negatives[b]],
    ] as const) {
      if (!(count > 0)) continue;
      xs.push(x);
      ys.push(label);
      ws.push(count);
    }
  });
  if (!ys.includes(1) || !ys.includes(0)) return { calibrationSlope: null, calibrationIntercept: null };
  const fit = logisticRecalibration(ys, Float64Array.from(xs), ws);
  return { calibrationSlope: fit?.slope ?? null, calibrationIntercept: fit?.intercept ?? null };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

const nonNegative = (c: number): number => (c > 0 ? c : 0);
const sum = (values: number[]) => values.reduce((acc, v) => acc + v, 0);
