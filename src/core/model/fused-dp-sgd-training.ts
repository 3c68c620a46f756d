import * as tf from '@tensorflow/tfjs';
import type { SecureRandom } from '../random/random';
import type { BatchSchedule } from './batching';
import {
  clippedGradientSum,
  DenseWorkspace,
  type DenseLayout,
  type HiddenActivation,
} from './dense-dp-sgd-kernel';
import { getFlatWeights, setFlatWeights } from './flat-weights';
import { flatAdam, flatSgd } from './flat-optimizer';
import type { LocalTrainingResult } from './local-training';
import type { TrainingData } from './training-data';

const HIDDEN_ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'linear', 'tanh', 'sigmoid']);

/** Steps between yields to the event loop: a long local training must not starve sockets and timers. */
const STEPS_PER_YIELD = 64;

/**
 * The model as the fused kernel sees it, or why the kernel does not cover it (then DP-SGD runs
 * on the tfjs path). Covered: a Sequential chain of Dense layers (hidden ReLU, linear, tanh or
 * sigmoid; a one-unit sigmoid output), kernels with at most an L2 regulariser, nothing else that
 * adds a loss or a constraint. Not covered: Dropout (its masks come from tf.dropout's own
 * generator, which the fused path cannot reproduce), any other layer.
 */
export function fusedDenseLayout(model: tf.LayersModel): DenseLayout | { unsupported: string } {
  const layers: DenseLayout['layers'] = [];
  let offset = 0;
  let width = model.inputs[0]?.shape[1];
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || typeof width !== 'number')
    return { unsupported: 'the model does not have one [batch, features] input and one output' };
  for (const [index, layer] of model.layers.entries()) {
    const kind = layer.getClassName();
    if (kind !== 'Dense') return { unsupported: `layer '${layer.name}' is a ${kind}` };
    const config = layer.getConfig();
    const activation = String(config.activation);
    const isOutput = index === model.layers.length - 1;
    const units = config.units as number;
    if (isOutput && (activation !== 'sigmoid' || units !== 1))
      return { unsupported: `the output layer '${layer.name}' is not one sigmoid unit` };
    if (!isOutput && !HIDDEN_ACTIVATIONS.has(activation))
      return { unsupported: `activation '${activation}' of layer '${layer.name}'` };
    if (
      config.biasRegularizer ||
      config.activityRegularizer ||
      config.kernelConstraint ||
      config.biasConstraint
    )
      return { unsupported: `layer '${layer.name}' has a bias or activity regulariser or a constraint` };
    const l2 = kernelL2(config.kernelRegularizer);
    if (l2 === null) return { unsupported: `layer '${layer.name}' has a regulariser other than L2` };
    const weights = layer.trainableWeights;
    const useBias = config.useBias !== false;
    if (weights.length !== (useBias ? 2 : 1) || layer.nonTrainableWeights.length > 0)
      return { unsupported: `layer '${layer.name}' does not hold a kernel and a bias` };
    // The flat order is model.trainableWeights (getFlatWeights): kernel then bias, layer by layer.
    if (model.trainableWeights[weightsBefore(layers)]?.name !== weights[0].name)
      return { unsupported: `layer '${layer.name}''s weights are not in layer order` };
    layers.push({
      inputs: width,
      units,
      activation: (isOutput ? 'linear' : activation) as HiddenActivation,
      kernelOffset: offset,
      biasOffset: useBias ? offset + width * units : null,
      kernelL2: l2,
    });
    offset += width * units + (useBias ? units : 0);
    width = units;
  }
  if (layers.length === 0) return { unsupported: 'the model has no layers' };
  return { layers, parameters: offset };
}

function weightsBefore(layers: DenseLayout['layers']): number {
  return layers.reduce((n, l) => n + (l.biasOffset === null ? 1 : 2), 0);
}

/** The L2 coefficient of a serialised kernel regulariser: 0 for none, null for anything but pure L2. */
function kernelL2(serialized: unknown): number | null {
  if (serialized === null || serialized === undefined) return 0;
  const s = serialized as { className?: string; config?: { l1?: number; l2?: number } };
  if (s.className !== 'L1L2' && s.className !== 'L2') return null;
  if ((s.config?.l1 ?? 0) !== 0) return null;
  const l2 = s.config?.l2 ?? 0;
  return Number.isFinite(l2) && l2 >= 0 ? l2 : null;
}

export interface FusedDpSgdOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer?: 'adam' | 'sgd';
  proximalMu?: number;
  exampleClipNorm: number;
  noiseMultiplier: number;
  /** q·N: the fixed divisor of the noised sum (see DpSgdStepOptions.expectedBatchSize). */
  expectedBatchSize: number;
  /** Draws the batches (Poisson sampling from the secure source). */
  schedule: BatchSchedule;
  random: SecureRandom;
  noiseRandom: SecureRandom;
  onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * trainLocallyWithDpSgd's loop on the fused kernel: the same batches (one call of `schedule` per
 * epoch, every step counted, an empty batch releasing noise only), the same step
 *   g̃ = (Σᵢ cᵢ∇ℓᵢ + N(0, (z·C)²·I)) / (q·N) + ∇R(W) + μ(W − W_start),
 * the same optimizer, then the weights written back into the tfjs model's variables.
 * The losses are the mean cross-entropy plus penalties before each step, as the tfjs path logs.
 */
export async function trainDenseDpSgdFused(
  model: tf.LayersModel,
  layout: DenseLayout,
  data: TrainingData,
  options: FusedDpSgdOptions,
): Promise<LocalTrainingResult> {
  const weights = getFlatWeights(model);
  if (weights.length !== layout.parameters)
    throw new Error(`fused DP-SGD: layout has ${layout.parameters} parameters, the model ${weights.length}`);
  const anchor = Float32Array.from(weights);
  const mu = options.proximalMu ?? 0;
  const sigma = options.noiseMultiplier * options.exampleClipNorm;
  const optimizer =
    (options.optimizer ?? 'adam') === 'adam'
      ? flatAdam(options.learningRate, layout.parameters, tf.backend().epsilon())
      : flatSgd(options.learningRate);
  const work = new DenseWorkspace(layout);
  const sum = new Float64Array(layout.parameters);
  const noise = new Float32Array(sigma > 0 ? layout.parameters : 0);
  // ‖x_r‖² enters every step's layer-0 norm and does not depend on the weights: computed once.
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
        if (sigma > 0) options.noiseRandom.fillStandardNormal(noise);
        const penalty = finishGradient(
          layout,
          weights,
          anchor,
          mu,
          sum,
          noise,
          sigma,
          options.expectedBatchSize,
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
 * sum ← (sum + σ·noise) / (q·N) + ∇R + μ(w − w_start), in place; returns R + μ/2·‖w − w_start‖²
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
  expectedBatchSize: number,
): number {
  for (let i = 0; i < sum.length; i++)
    sum[i] = (sigma > 0 ? sum[i] + sigma * noise[i] : sum[i]) / expectedBatchSize;
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
