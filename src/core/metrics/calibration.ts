import {
  assertBinaryLabels,
  assertNonEmpty,
  assertProbabilities,
  assertSameLength,
  countPositives,
} from './validation';

export interface Calibration {
  /** Σy / Σp: observed over expected events; 1 is calibrated-in-the-large. Null when Σp = 0. */
  observedExpectedRatio: number | null;
  /** b in logit P(y=1) = a + b·logit(p); 1 is ideal, < 1 means over-confident predictions. */
  slope: number | null;
  /** a in the same fit. */
  intercept: number | null;
}

/** Probabilities are clamped before the logit so 0 and 1 stay finite. */
const PROBABILITY_CLAMP = 1e-7;
const MAX_ITERATIONS = 100;
const MAX_HALVINGS = 30;
const TOLERANCE = 1e-10;

/**
 * Calibration-in-the-large (O:E) and logistic recalibration (Cox 1958; Van Calster et al. 2016,
 * "A calibration hierarchy for risk models"): fit y ~ a + b·logit(p) by maximum likelihood.
 * Slope and intercept are null when a class is absent or the fit does not converge (for example
 * when logit(p) separates the classes perfectly and the likelihood has no maximum).
 */
export function calibration(labels: ArrayLike<number>, probs: ArrayLike<number>): Calibration {
  assertSameLength(labels, probs, 'probabilities');
  assertNonEmpty(labels);
  assertBinaryLabels(labels);
  assertProbabilities(probs);
  const n = labels.length;
  const positives = countPositives(labels);
  let expected = 0;
  for (let i = 0; i < n; i++) expected += probs[i];
  const observedExpectedRatio = expected > 0 ? positives / expected : null;
  if (positives === 0 || positives === n) return { observedExpectedRatio, slope: null, intercept: null };

  const logits = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(probs[i], PROBABILITY_CLAMP), 1 - PROBABILITY_CLAMP);
    logits[i] = Math.log(p / (1 - p));
  }
  const fit = logisticRecalibration(labels, logits);
  return { observedExpectedRatio, slope: fit?.slope ?? null, intercept: fit?.intercept ?? null };
}

/**
 * The recalibration fit y ~ a + b·x on given logits x, optionally with a positive weight per row
 * (pooled metrics fit it on histogram bins weighted by their counts). Null when the classes are
 * separated by x or the fit does not converge.
 */
export function logisticRecalibration(
  labels: ArrayLike<number>,
  x: Float64Array,
  weights?: ArrayLike<number>,
): { intercept: number; slope: number } | null {
  return isSeparated(labels, x) ? null : fitLogisticRecalibration(labels, x, weights);
}

/**
 * True when a threshold on logit(p) splits the classes with no overlap (complete or quasi-complete
 * separation): then the likelihood has no finite maximum (Albert & Anderson 1984) and Newton would
 * only walk the slope towards infinity until the floating-point gradient vanishes.
 */
function isSeparated(labels: ArrayLike<number>, x: Float64Array): boolean {
  let minPositive = Infinity;
  let maxPositive = -Infinity;
  let minNegative = Infinity;
  let maxNegative = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (labels[i] === 1) {
      minPositive = Math.min(minPositive, x[i]);
      maxPositive = Math.max(maxPositive, x[i]);
    } else {
      minNegative = Math.min(minNegative, x[i]);
      maxNegative = Math.max(maxNegative, x[i]);
    }
  }
  return minPositive >= maxNegative || maxPositive <= minNegative;
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function logLikelihood(
  labels: ArrayLike<number>,
  x: Float64Array,
  a: number,
  b: number,
  weights?: ArrayLike<number>,
): number {
  let ll = 0;
  for (let i = 0; i < x.length; i++) {
    const z = a + b * x[i];
    ll += (weights ? weights[i] : 1) * (labels[i] * z - softplus(z));
  }
  return ll;
}

/**
 * Newton–Raphson on the two-parameter logistic likelihood (equivalently IRLS), started at the
 * identity recalibration (a = 0, b = 1) and with step halving so each step raises the likelihood.
 */
function fitLogisticRecalibration(
  labels: ArrayLike<number>,
  x: Float64Array,
  weights?: ArrayLike<number>,
): { intercept: number; slope: number } | null {
  let a = 0;
  let b = 1;
  let ll = logLikelihood(labels, x, a, b, weights);
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let g0 = 0;
    let g1 = 0;
    let h00 = 0;
    let h01 = 0;
    let h11 = 0;
    for (let i = 0; i < x.length; i++) {
      const p = 1 / (1 + Math.exp(-(a + b * x[i])));
      const weight = weights ? weights[i] : 1;
      const r = weight * (labels[i] - p);
      const w = weight * p * (1 - p);
      g0 += r;
      g1 += r * x[i];
      h00 += w;
      h01 += w * x[i];
      h11 += w * x[i] * x[i];
    }
    const det = h00 * h11 - h01 * h01;
    if (!(Math.abs(det) > 1e-300)) return null;
    const stepA = (h11 * g0 - h01 * g1) / det;
    const stepB = (h00 * g1 - h01 * g0) / det;
    let scale = 1;
    let nextLl = logLikelihood(labels, x, a + stepA, b + stepB, weights);
    for (let k = 0; k < MAX_HALVINGS && !(nextLl >= ll); k++) {
      scale /= 2;
      nextLl = logLikelihood(labels, x, a + scale * stepA, b + scale * stepB, weights);
    }
    if (!(nextLl >= ll)) return null;
    a += scale * stepA;
    b += scale * stepB;
    ll = nextLl;
    if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
    if (Math.max(Math.abs(scale * stepA), Math.abs(scale * stepB)) < TOLERANCE * (1 + Math.abs(b))) {
      return { intercept: a, slope: b };
    }
  }
  return null;
}
