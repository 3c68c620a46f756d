import { logisticRecalibration } from '../metrics/calibration';
import type { Metrics, RiskHistogram } from '../../../schemas/metrics';

/** Pooled metrics from merged risk histograms (see risk-histogram.ts). */
export function metricsFromHistogram(h: RiskHistogram): Metrics {
  const P = sum(h.positives);
  const N = sum(h.negatives);
  const n = P + N;
  return {
    n,
    positives: P,
    auroc: P > 0 && N > 0 ? histogramAuroc(h, P, N) : null,
    auprc: P > 0 ? histogramAveragePrecision(h, P) : null,
    brier: n > 0 ? h.sumSquaredError / n : null,
    observedExpectedRatio: h.sumRisk > 0 ? P / h.sumRisk : null,
    ...calibrationFromHistogram(h),
    loss: n > 0 ? h.sumLogLoss / n : null,
  };
}

/** Mann–Whitney AUROC with every pair in one bin counted as a tie (½). */
function histogramAuroc(h: RiskHistogram, P: number, N: number): number {
  let negativesBelow = 0;
  let concordant = 0;
  for (let b = 0; b < h.bins; b++) {
    concordant += h.positives[b] * (negativesBelow + 0.5 * h.negatives[b]);
    negativesBelow += h.negatives[b];
  }
  return concordant / (P * N);
}

/** Average precision (sklearn's step-wise definition), thresholds at bin edges from high to low risk. */
function histogramAveragePrecision(h: RiskHistogram, P: number): number {
  let tp = 0;
  let fp = 0;
  let ap = 0;
  for (let b = h.bins - 1; b >= 0; b--) {
    if (h.positives[b] === 0 && h.negatives[b] === 0) continue;
    tp += h.positives[b];
    fp += h.negatives[b];
    ap += (h.positives[b] / P) * (tp / (tp + fp));
  }
  return ap;
}

/**
 * Logistic recalibration y ~ a + b·logit(p) (Cox 1958) on bin midpoints weighted by the counts,
 * with the same fit as exact metrics use: slope b < 1 means over-confident predictions.
 */
function calibrationFromHistogram(h: RiskHistogram): {
  calibrationSlope: number | null;
  calibrationIntercept: number | null;
} {
  const xs: number[] = [];
  const ys: number[] = [];
  const ws: number[] = [];
  for (let b = 0; b < h.bins; b++) {
    const mid = Math.min(1 - 1e-6, Math.max(1e-6, (b + 0.5) / h.bins));
    const x = Math.log(mid / (1 - mid));
    for (const [label, count] of [
      [1, h.positives[b]],
      [0, h.negatives[b]],
    ] as const) {
      if (count === 0) continue;
      xs.push(x);
      ys.push(label);
      ws.push(count);
    }
  }
  if (!ys.includes(1) || !ys.includes(0)) return { calibrationSlope: null, calibrationIntercept: null };
  const fit = logisticRecalibration(ys, Float64Array.from(xs), ws);
  return { calibrationSlope: fit?.slope ?? null, calibrationIntercept: fit?.intercept ?? null };
}

const sum = (values: number[]) => values.reduce((acc, v) => acc + v, 0);
