import { auprc } from './auprc';
import { auroc } from './auroc';
import { brierScore } from './brier';
import { calibration } from './calibration';
import {
  assertBinaryLabels,
  assertNonEmpty,
  assertProbabilities,
  assertSameLength,
  countPositives,
} from './validation';

/** Discrimination and calibration of a binary risk model on one evaluation set. */
export interface BinaryMetrics {
  n: number;
  positives: number;
  prevalence: number;
  /** Null when one class is absent. */
  auroc: number | null;
  /** Null when there are no positives. */
  auprc: number | null;
  brier: number;
  /** Σy / Σp; null when Σp = 0. */
  observedExpectedRatio: number | null;
  /** Null when a class is absent or the logistic recalibration does not converge. */
  calibrationSlope: number | null;
  calibrationIntercept: number | null;
}

export function evaluateBinary(labels: ArrayLike<number>, probs: ArrayLike<number>): BinaryMetrics {
  // Validate once up front so the error names the whole evaluation, not whichever metric ran first.
  assertSameLength(labels, probs, 'probabilities');
  assertNonEmpty(labels);
  assertBinaryLabels(labels);
  assertProbabilities(probs);
  const n = labels.length;
  const positives = countPositives(labels);
  const fit = calibration(labels, probs);
  return {
    n,
    positives,
    prevalence: positives / n,
    auroc: auroc(labels, probs),
    auprc: auprc(labels, probs),
    brier: brierScore(labels, probs),
    observedExpectedRatio: fit.observedExpectedRatio,
    calibrationSlope: fit.slope,
    calibrationIntercept: fit.intercept,
  };
}
