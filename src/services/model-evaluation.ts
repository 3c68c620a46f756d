import type { LayersModel } from '@tensorflow/tfjs';
import type { HospitalEvaluation, Metrics } from '../../schemas/metrics';
import type { DesignMatrix } from '../core/data';
import { binRisks, noisyHistogram } from '../core/evaluation/risk-histogram';
import { computeEpsilon, EVALUATION_L2_SENSITIVITY, gaussianEvent } from '../core/privacy';
import type { SecureRandom } from '../core/random/random';
import { evaluateBinary } from '../core/metrics';
import { predictProbabilities } from '../core/model';

/** Exact metrics of a model on one design matrix, plus the mean log loss (simulation and tests only: never released). */
export function evaluateModel(
  model: LayersModel,
  design: DesignMatrix,
): { metrics: Metrics; risks: Float32Array } {
  const risks = predictProbabilities(model, design.features, design.rows, design.cols);
  return { metrics: metricsOf(design.labels, risks), risks };
}

export function metricsOf(labels: Float32Array, risks: Float32Array): Metrics {
  const m = evaluateBinary(labels, risks);
  let loss = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, risks[i]));
    loss -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return {
    n: m.n,
    positives: m.positives,
    auroc: m.auroc,
    auprc: m.auprc,
    brier: m.brier,
    observedExpectedRatio: m.observedExpectedRatio,
    calibrationSlope: m.calibrationSlope,
    calibrationIntercept: m.calibrationIntercept,
    loss: labels.length > 0 ? loss / labels.length : null,
  };
}

/**
 * What a hospital shares about a model version: a noisy risk histogram of its own test split (the
 * Gaussian mechanism its ledger was charged for before the split was read), nothing exact.
 */
export function hospitalEvaluation(
  model: LayersModel,
  design: DesignMatrix,
  release: {
    hospitalId: string;
    modelVersionId: string;
    noiseMultiplier: number;
    delta: number;
    random: SecureRandom;
  },
): HospitalEvaluation {
  const risks = predictProbabilities(model, design.features, design.rows, design.cols);
  const std = release.noiseMultiplier * EVALUATION_L2_SENSITIVITY;
  return {
    hospitalId: release.hospitalId,
    modelVersionId: release.modelVersionId,
    histogram: noisyHistogram(binRisks(design.labels, risks), std, release.random),
    privacy: {
      unit: 'patient',
      noiseMultiplier: release.noiseMultiplier,
      l2Sensitivity: EVALUATION_L2_SENSITIVITY,
      epsilon: computeEpsilon(gaussianEvent(release.noiseMultiplier), release.delta).epsilon,
      delta: release.delta,
    },
  };
}
