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
 * Logistic recalibration y ~ a + b·logit(p) fitted by Newton's method on bin midpoints weighted by
 * the counts (Cox 1958): slope b < 1 means over-confident predictions.
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
  let a = 0;
  let s = 1;
  for (let iteration = 0; iteration < 50; iteration++) {
    let ga = 0,
      gs = 0,
      haa = 0,
      has = 0,
      hss = 0;
    for (let i = 0; i < xs.length; i++) {
      const p = 1 / (1 + Math.exp(-(a + s * xs[i])));
      const r = ws[i] * (ys[i] - p);
      const v = ws[i] * p * (1 - p);
      ga += r;
      gs += r * xs[i];
      haa += v;
      has += v * xs[i];
      hss += v * xs[i] * xs[i];
    }
    const det = haa * hss - has * has;
    if (!(Math.abs(det) > 1e-12)) return { calibrationSlope: null, calibrationIntercept: null };
    const da = (hss * ga - has * gs) / det;
    const ds = (haa * gs - has * ga) / det;
    a += da;
    s += ds;
    if (!Number.isFinite(a) || !Number.isFinite(s))
      return { calibrationSlope: null, calibrationIntercept: null };
    if (Math.abs(da) + Math.abs(ds) < 1e-10) break;
  }
  return { calibrationSlope: s, calibrationIntercept: a };
}

const sum = (values: number[]) => values.reduce((acc, v) => acc + v, 0);
