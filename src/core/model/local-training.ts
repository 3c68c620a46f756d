import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random/random';
import { type BatchSchedule, shuffledBatches } from './batching';
import { binaryCrossEntropyPerExample, regularizationLoss } from './loss';
import { type TrainingData, assertInputWidth, validateTrainingData } from './training-data';
import { forwardForTraining } from './training-forward';
import { trainDenseFused } from './fused-dense-training';
import { fusedDenseLayout } from './fused-dp-sgd-training';

export interface LocalTrainingOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Default 'adam'. A fresh optimizer per call: client optimizer state does not outlive a round. */
  optimizer?: 'adam' | 'sgd';
  /** Shuffles the rows each epoch and draws dropout masks, so a seed reproduces the run. */
  random: Random;
  /**
   * FedProx's μ (Li et al. 2020, "Federated Optimization in Heterogeneous Networks", Eq. 2): the
   * objective gains μ/2·‖w − w_start‖², w_start being the weights this call started from (the
   * round's global model). Default 0 (FedAvg's local objective).
   */
  proximalMu?: number;
  /** After each epoch (0-based) with that epoch's mean training objective. */
  onEpoch?: (epoch: number, loss: number) => void;
  /**
   * 'auto' (default): the fused dense kernel (fused-dense-training.ts) when it covers the model (a
   * Dense chain without dropout), else the tfjs path; 'tfjs': always the tfjs path (tests compare
   * the two). Same batches, objective, gradient and optimizer either way.
   */
  kernel?: 'auto' | 'tfjs';
}

export interface LocalTrainingResult {
  /** Per epoch, the example-weighted mean of the minimised objective (cross-entropy + L2). */
  epochLosses: number[];
  /** Optimizer steps taken (mini-batches). */
  steps: number;
  /** Examples processed over all epochs (rows × epochs for shuffled batches). */
  examples: number;
}

/** What one gradient step sees: one mini-batch and the variables it may update. */
export interface GradientStepContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** The model's trainable variables, in model.trainableWeights order. */
  variables: tf.Variable[];
  x: tf.Tensor2D;
  /** Shape [batch, 1]. */
  y: tf.Tensor2D;
  random: Random;
  /** The FedProx term μ/2·‖w − w_start‖² (data-independent); absent or null without one. */
  proximal?: (() => tf.Scalar) | null;
}

/**
 * Updates the variables from one mini-batch and returns the batch's objective as a scalar. Runs
 * inside tf.tidy, so intermediate tensors need no disposal. DP-SGD is another GradientStep:
 * per-example gradients, each clipped to C, summed, plus N(0, z²C²) noise, divided by the batch.
 */
export type GradientStep = (context: GradientStepContext) => tf.Scalar;

/** Plain mini-batch step: mean binary cross-entropy plus the layers' L2 penalties. */
export const standardGradientStep: GradientStep = ({
  model,
  optimizer,
  variables,
  x,
  y,
  random,
  proximal,
}) => {
  const { value, grads } = tf.variableGrads(() => {
    const probs = forwardForTraining(model, x, random);
    const objective = tf.add(tf.mean(binaryCrossEntropyPerExample(y, probs)), regularizationLoss(model));
    return (proximal ? tf.add(objective, proximal()) : objective) as tf.Scalar;
  }, variables);
  optimizer.applyGradients(grads);
  return value;
};

/**
 * Trains a model in place on one hospital's data with a custom loop rather than model.fit, whose
 * shuffling draws from Math.random and so cannot be reproduced from a seed. A Dense chain trains on
 * the fused kernel: for a tiny model tfjs' per-op dispatch is most of the cost (some hundred ops per
 * step), and a hospital job's training is then most of a round's CPU (docs/benchmarks.md, one round).
 */
export async function trainLocally(
  model: tf.LayersModel,
  data: TrainingData,
  options: LocalTrainingOptions,
): Promise<LocalTrainingResult & { kernel: 'fused' | 'tfjs' }> {
  validateOptions(options);
  validateTrainingData(data);
  assertInputWidth(model.inputs[0].shape, data.cols);
  const layout = options.kernel === 'tfjs' ? null : fusedDenseLayout(model);
  if (layout !== null && !('unsupported' in layout)) {
    const result = await trainDenseFused(model, layout, data, {
      ...options,
      // Plain mini-batch gradients: no clipping, no noise, the mean over the batch's own rows.
      exampleClipNorm: Infinity,
      noise: null,
      divisor: null,
      emptyBatches: 'skip',
      schedule: shuffledBatches,
    });
    return { ...result, kernel: 'fused' };
  }
  const result = await runTrainingLoop(model, data, options, standardGradientStep, shuffledBatches);
  return { ...result, kernel: 'tfjs' };
}

/**
 * The epoch and batching loop shared by every local-training variant: validates, builds the data
 * tensors once, and for each batch gathers rows and calls `step`. Disposes everything it creates,
 * including the optimizer's slots, so repeated rounds do not grow tf.memory().
 */
export async function runTrainingLoop(
  model: tf.LayersModel,
  data: TrainingData,
  options: LocalTrainingOptions,
  step: GradientStep,
  schedule: BatchSchedule,
  /**
   * What an empty batch (possible under Poisson sampling) does: 'skip' it, or run the 'step' on
   * zero rows and count it — DP-SGD must, since its noise and its accounting cover every step.
   */
  emptyBatches: 'skip' | 'step' = 'skip',
): Promise<LocalTrainingResult> {
  validateOptions(options);
  validateTrainingData(data);
  assertInputWidth(model.inputs[0].shape, data.cols);

  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer =
    (options.optimizer ?? 'adam') === 'adam'
      ? tf.train.adam(options.learningRate)
      : tf.train.sgd(options.learningRate);
  const x = tf.tensor2d(data.features, [data.rows, data.cols]);
  const y = tf.tensor2d(data.labels, [data.rows, 1]);
  const mu = options.proximalMu ?? 0;
  const anchors = mu > 0 ? variables.map((v) => tf.keep(v.clone())) : [];
  const proximal =
    mu > 0
      ? () =>
          tf.mul(
            mu / 2,
            tf.addN(variables.map((v, i) => tf.sum(tf.square(tf.sub(v, anchors[i]))))),
          ) as tf.Scalar
      : null;
  const epochLosses: number[] = [];
  let steps = 0;
  let examples = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      let weightedLoss = 0;
      let epochExamples = 0;
      for (const rows of schedule(data.rows, options.batchSize, options.random)) {
        const empty = rows.length === 0;
        if (empty && emptyBatches === 'skip') continue;
        const loss = tf.tidy(() => {
          const index = tf.tensor1d(rows, 'int32');
          return step({
            model,
            optimizer,
            variables,
            x: (empty ? tf.zeros([0, data.cols]) : tf.gather(x, index)) as tf.Tensor2D,
            y: (empty ? tf.zeros([0, 1]) : tf.gather(y, index)) as tf.Tensor2D,
            random: options.random,
            proximal,
          });
        });
        // Awaiting the value lets a GPU backend run ahead and yields to the event loop each step.
        const value = (await loss.data())[0];
        loss.dispose();
        weightedLoss += value * rows.length;
        epochExamples += rows.length;
        steps++;
      }
      examples += epochExamples;
      const epochLoss = epochExamples > 0 ? weightedLoss / epochExamples : NaN;
      if (!Number.isFinite(epochLoss) && epochExamples > 0) {
        throw new Error(`training diverged in epoch ${epoch}: loss is ${epochLoss}; lower the learning rate`);
      }
      epochLosses.push(epochLoss);
      options.onEpoch?.(epoch, epochLoss);
    }
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
    for (const anchor of anchors) anchor.dispose();
  }
  return { epochLosses, steps, examples };
}

function validateOptions(options: LocalTrainingOptions): void {
  const { epochs, batchSize, learningRate, optimizer, proximalMu, kernel } = options;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new RangeError(`epochs must be a non-negative integer, got ${epochs}`);
  if (proximalMu !== undefined && !(proximalMu >= 0 && Number.isFinite(proximalMu)))
    throw new RangeError(`proximalMu must be finite and >= 0, got ${proximalMu}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new RangeError(`learningRate must be finite and > 0, got ${learningRate}`);
  }
  if (optimizer !== undefined && optimizer !== 'adam' && optimizer !== 'sgd') {
    throw new RangeError(`optimizer must be 'adam' or 'sgd', got '${String(optimizer)}'`);
  }
  if (kernel !== undefined && kernel !== 'auto' && kernel !== 'tfjs')
    throw new RangeError(`kernel must be 'auto' or 'tfjs', got '${String(kernel)}'`);
}
