import * as tf from '@tensorflow/tfjs';
import type { DpEvent } from '../privacy/dp-event';
import { dpSgdPrivacyEvent, poissonSamplingPlan } from '../privacy/patient-level-plan';
import type { Random, SecureRandom } from '../random/random';
import { dpSgdGradientStep } from './dp-sgd-step';
import { runTrainingLoop, type LocalTrainingResult } from './local-training';
import { poissonBatches } from './poisson-batches';
import { type TrainingData, assertInputWidth, validateTrainingData } from './training-data';

export interface DpSgdTrainingOptions {
  epochs: number;
  /** Expected batch size B; rows are Poisson-sampled with rate q = B/N. */
  batchSize: number;
  learningRate: number;
  /** Default 'adam' (applied to the privatised gradient, so it is post-processing). */
  optimizer?: 'adam' | 'sgd';
  /** C_example: per-example gradient clip norm. */
  exampleClipNorm: number;
  /** z: calibrate it before training with planPatientLevelDp. */
  noiseMultiplier: number;
  /** Poisson sampling and dropout masks (a seeded generator is fine: sampling is not the secret). */
  random: Random;
  /** Gaussian noise: must be secure (CryptoRandom). */
  noiseRandom: SecureRandom;
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface DpSgdTrainingResult extends LocalTrainingResult {
  /** q = B/N. */
  samplingProbability: number;
  /** What this call spent: SelfComposed(PoissonSampled(q, Gaussian(z)), steps), for the ledger. */
  privacyEvent: DpEvent;
}

/**
 * Patient-level DP-SGD on one hospital's rows (Abadi et al. 2016): Poisson-sampled batches,
 * per-example clipping to C, Gaussian noise z·C on each clipped sum, divided by the expected batch.
 *
 * Its own loop rather than runTrainingLoop, which skips empty batches: under Poisson sampling an
 * empty batch must still count as a step and still release noise, or whether it happened leaks.
 * Every step is counted in `steps` and in `privacyEvent`.
 */
export async function trainLocallyWithDpSgd(
  model: tf.LayersModel,
  data: TrainingData,
  options: DpSgdTrainingOptions,
): Promise<DpSgdTrainingResult> {
  validateTrainingOptions(options);
  validateTrainingData(data);
  assertInputWidth(model.inputs[0].shape, data.cols);
  const { samplingProbability } = poissonSamplingPlan(data.rows, options.batchSize);
  const step = dpSgdGradientStep({
    exampleClipNorm: options.exampleClipNorm,
    noiseMultiplier: options.noiseMultiplier,
    expectedBatchSize: samplingProbability * data.rows,
    noiseRandom: options.noiseRandom,
  });
  const { epochLosses, steps, examples } = await runTrainingLoop(
    model,
    data,
    options,
    step,
    poissonBatches,
    'step',
  );
  return {
    epochLosses,
    steps,
    examples,
    samplingProbability,
    privacyEvent: dpSgdPrivacyEvent(samplingProbability, options.noiseMultiplier, steps),
  };
}

function validateTrainingOptions(options: DpSgdTrainingOptions): void {
  const { epochs, batchSize, learningRate, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new RangeError(`epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(learningRate > 0 && Number.isFinite(learningRate)))
    throw new RangeError(`learningRate must be finite and > 0, got ${learningRate}`);
  if (optimizer !== undefined && optimizer !== 'adam' && optimizer !== 'sgd')
    throw new RangeError(`optimizer must be 'adam' or 'sgd', got '${String(optimizer)}'`);
}
