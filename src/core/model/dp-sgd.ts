import * as tf from '@tensorflow/tfjs';
import type { DpEvent } from '../privacy/dp-event';
import { dpSgdPrivacyEvent, poissonSamplingPlan } from '../privacy/patient-level-plan';
import type { Random, SecureRandom } from '../random/random';
import { dpSgdGradientStep } from './dp-sgd-step';
import type { LocalTrainingResult } from './local-training';
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
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer =
    (options.optimizer ?? 'adam') === 'adam'
      ? tf.train.adam(options.learningRate)
      : tf.train.sgd(options.learningRate);
  const x = tf.tensor2d(data.features, [data.rows, data.cols]);
  const y = tf.tensor2d(data.labels, [data.rows, 1]);
  const epochLosses: number[] = [];
  let steps = 0;
  let examples = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      let weightedLoss = 0;
      let epochExamples = 0;
      for (const rows of poissonBatches(data.rows, options.batchSize, options.random)) {
        const loss = tf.tidy(() => {
          const index = tf.tensor1d(rows, 'int32');
          const empty = rows.length === 0;
          return step({
            model,
            optimizer,
            variables,
            x: (empty ? tf.zeros([0, data.cols]) : tf.gather(x, index)) as tf.Tensor2D,
            y: (empty ? tf.zeros([0, 1]) : tf.gather(y, index)) as tf.Tensor2D,
            random: options.random,
          });
        });
        const value = (await loss.data())[0];
        loss.dispose();
        weightedLoss += value * rows.length;
        epochExamples += rows.length;
        steps++;
      }
      examples += epochExamples;
      const epochLoss = epochExamples > 0 ? weightedLoss / epochExamples : NaN;
      if (!Number.isFinite(epochLoss) && epochExamples > 0) {
        throw new Error(`DP-SGD diverged in epoch ${epoch}: loss is ${epochLoss}; lower the learning rate`);
      }
      epochLosses.push(epochLoss);
      options.onEpoch?.(epoch, epochLoss);
    }
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
  }
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
