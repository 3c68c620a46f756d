import * as tf from '@tensorflow/tfjs';
import type { Random, SecureRandom } from '../random/random';
import type { BatchSchedule } from './batching';
import { clippedGradientSum, DenseWorkspace, type DenseLayout } from './dense-dp-sgd-kernel';
import { getFlatWeights, setFlatWeights } from './flat-weights';
import { flatAdam, flatSgd } from './flat-optimizer';
import type { LocalTrainingResult } from './local-training';
import type { TrainingData } from './training-data';

/** Steps between yields to the event loop: a long local training must not starve sockets and timers. */
const STEPS_PER_YIELD = 64;

export interface FusedDenseOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer?: 'adam' | 'sgd';
  proximalMu?: number;
  /** C: per-example clip norm; Infinity for none (plain mini-batch gradients). */
  exampleClipNorm: number;
  /** σ = z·C of the Gaussian noise added to each clipped sum, and its (secure) source; null for none. */
  noise: { sigma: number; random: SecureRandom } | null;
  /** The sum's divisor: DP-SGD's fixed q·N, or null for the batch's own size (the mean gradient). */
  divisor: number | null;
  /** An empty batch: 'step' (DP-SGD: noise only, counted) or 'skip' (as runTrainingLoop does). */
  emptyBatches: 'skip' | 'step';
  schedule: BatchSchedule;
  random: Random;
  onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * The local-training loop on the fused dense kernel (dense-dp-sgd-kernel.ts), shared by plain
 * training and DP-SGD: per batch of `schedule`
 *   g = (Σᵢ cᵢ∇ℓᵢ [+ N(0, σ²·I)]) / divisor + ∇R(W) + μ(W − W_start),
 * then the optimizer's step, and at the end the weights written back into the tfjs model's
 * variables (the model stays the artifact). The losses are the mean cross-entropy plus penalties
 * before each step, as the tfjs path logs them.
 */
export async function trainDenseFused(
  model: tf.LayersModel,
  layout: DenseLayout,
  data: TrainingData,
  options: FusedDenseOptions,
): Promise<LocalTrainingResult> {
  const weights = getFlatWeights(model);
  if (weights.length !== layout.parameters)
    throw new Error(
      `fused training: layout has ${layout.parameters} parameters, the model ${weights.length}`,
    );
  const anchor = Float32Array.from(weights);
  const mu = options.proximalMu ?? 0;
  const sigma = options.noise?.sigma ?? 0;
  const optimizer =
    (options.optimizer ?? 'adam') === 'adam'
      ? flatAdam(options.learningRate, layout.parameters, tf.backend().epsilon())
      : flatSgd(options.learningRate);
  const work = new DenseWorkspace(layout);
  const sum = new Float64Array(layout.parameters);
  const noise = new Float32Array(sigma > 0 ? layout.parameters : 0);
  // The features as doubles once, so every kernel loop reads one array type, and ‖x_r‖² per row in
  // the same pass: layer 0's ghost norm needs it every time a row is sampled, and it never changes.
  const features = new Float64Array(data.features.length);
  const rowSquaredNorms = new Float64Array(data.rows);
  for (let r = 0, k = 0; r < data.rows; r++) {
    let s = 0;
    for (let c = 0; c < data.cols; c++, k++) {
      const v = data.features[k];
      features[k] = v;
      s += v * v;
    }
    rowSquaredNorms[r] = s;
  }
  const epochLosses: number[] = [];
  let steps = 0;
  let examples = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      let weightedLoss = 0;
      let epochExamples = 0;
      for (const batch of options.schedule(data.rows, options.batchSize, options.random)) {
        if (batch.length === 0 && options.emptyBatches === 'skip') continue;
        const { lossSum } = clippedGradientSum(
          layout,
          weights,
          features,
          data.labels,
          data.cols,
          batch,
          options.exampleClipNorm,
          work,
          sum,
          rowSquaredNorms,
        );
        if (sigma > 0) options.noise!.random.fillStandardNormal(noise);
        const penalty = finishGradient(
          layout,
          weights,
          anchor,
          mu,
          sum,
          noise,
          sigma,
          options.divisor ?? batch.length,
        );
        optimizer.step(weights, sum);
        const loss = (batch.length > 0 ? lossSum / batch.length : 0) + penalty;
        weightedLoss += loss * batch.length;
        epochExamples += batch.length;
        steps++;
        if (steps % STEPS_PER_YIELD === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      examples += epochExamples;
      const epochLoss = epochExamples > 0 ? weightedLoss / epochExamples : NaN;
      if (!Number.isFinite(epochLoss) && epochExamples > 0)
        throw new Error(`training diverged in epoch ${epoch}: loss is ${epochLoss}; lower the learning rate`);
      epochLosses.push(epochLoss);
      options.onEpoch?.(epoch, epochLoss);
    }
  } finally {
    // Whatever was trained goes back into the model, as the tfjs path leaves its variables.
    setFlatWeights(model, weights);
  }
  return { epochLosses, steps, examples };
}

/**
 * sum ← (sum + σ·noise) / divisor + ∇R + μ(w − w_start), in place; returns R + μ/2·‖w − w_start‖²
 * at the current weights. R and the proximal term are data-independent, so they join after the
 * noise, not inside the clipped sum (as in dp-sgd-step.ts).
 */
function finishGradient(
  layout: DenseLayout,
  weights: Float32Array,
  anchor: Float32Array,
  mu: number,
  sum: Float64Array,
  noise: Float32Array,
  sigma: number,
  divisor: number,
): number {
  for (let i = 0; i < sum.length; i++) sum[i] = (sigma > 0 ? sum[i] + sigma * noise[i] : sum[i]) / divisor;
  let penalty = 0;
  for (const layer of layout.layers) {
    if (layer.kernelL2 === 0) continue;
    const end = layer.kernelOffset + layer.inputs * layer.units;
    let squares = 0;
    for (let i = layer.kernelOffset; i < end; i++) {
      squares += weights[i] * weights[i];
      sum[i] += 2 * layer.kernelL2 * weights[i];
    }
    penalty += layer.kernelL2 * squares;
  }
  if (mu > 0) {
    let squares = 0;
    for (let i = 0; i < sum.length; i++) {
      const d = weights[i] - anchor[i];
      squares += d * d;
      sum[i] += mu * d;
    }
    penalty += (mu / 2) * squares;
  }
  return penalty;
}
