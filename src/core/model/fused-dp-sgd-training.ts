import * as tf from '@tensorflow/tfjs';
import type { SecureRandom } from '../random/random';
import type { BatchSchedule } from './batching';
import type { DenseLayout, HiddenActivation } from './dense-dp-sgd-kernel';
import { trainDenseFused } from './fused-dense-training';
import type { LocalTrainingResult } from './local-training';
import type { TrainingData } from './training-data';

const HIDDEN_ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'linear', 'tanh', 'sigmoid']);

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
export function trainDenseDpSgdFused(
  model: tf.LayersModel,
  layout: DenseLayout,
  data: TrainingData,
  options: FusedDpSgdOptions,
): Promise<LocalTrainingResult> {
  return trainDenseFused(model, layout, data, {
    ...options,
    noise: { sigma: options.noiseMultiplier * options.exampleClipNorm, random: options.noiseRandom },
    divisor: options.expectedBatchSize,
    emptyBatches: 'step',
  });
}
