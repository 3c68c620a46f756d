import * as tf from '@tensorflow/tfjs';
import type { SecureRandom } from '../random/random';
import { clipFactors, denseChain, ghostPass, weightedGradientSum } from './dp-sgd-ghost-norms';
import type { GradientStep } from './local-training';
import { regularizationLoss } from './loss';

export interface DpSgdStepOptions {
  /** C: every example's gradient is clipped to this L2 norm (its sensitivity bound). */
  exampleClipNorm: number;
  /** z: Gaussian noise of std z·C per coordinate on the clipped sum. */
  noiseMultiplier: number;
  /**
   * q·N. The noised sum is divided by this fixed number, never by the realised batch size, which
   * depends on who was sampled and would break the sampled-Gaussian analysis.
   */
  expectedBatchSize: number;
  /** Where the noise comes from: a cryptographically secure source (node:crypto), never a seed. */
  noiseRandom: SecureRandom;
}

/**
 * A DP-SGD GradientStep (Abadi et al. 2016, Alg. 1) for the dense models createModel builds:
 *   g̃ = (Σᵢ min(1, C/‖∇ℓᵢ‖)·∇ℓᵢ + N(0, (z·C)²·I)) / (q·N) + ∇R(W).
 * Per-example norms by the ghost-norm trick (dp-sgd-ghost-norms.ts). The L2 penalty R is
 * data-independent, so its gradient is added after the noise instead of being clipped with the
 * examples' (clipping it would mix a constant into every example's sensitivity budget).
 * An empty batch (Poisson sampling allows it) releases noise only: skipping it would reveal it.
 * Returns the batch's mean cross-entropy plus R, for logs only (it is not privatised).
 */
export function dpSgdGradientStep(options: DpSgdStepOptions): GradientStep {
  validateStepOptions(options);
  const { exampleClipNorm, noiseMultiplier, expectedBatchSize, noiseRandom } = options;
  return ({ model, optimizer, variables, x, y, random, proximal }) => {
    const chain = denseChain(model);
    const batch = x.shape[0];
    let sums: Map<string, tf.Tensor>;
    let dataLoss: tf.Scalar;
    if (batch === 0) {
      sums = new Map(variables.map((v) => [v.name, tf.zerosLike(v)]));
      dataLoss = tf.scalar(0);
    } else {
      const pass = ghostPass(chain, x, y, random);
      sums = weightedGradientSum(chain, pass, clipFactors(pass.norms, exampleClipNorm));
      dataLoss = tf.mean(pass.perExampleLoss);
    }
    const penalty = penaltyGradients(model, variables, proximal ?? null);
    const grads: tf.NamedTensorMap = {};
    for (const variable of variables) {
      const sum = sums.get(variable.name);
      if (!sum) throw new Error(`DP-SGD found no gradient for variable '${variable.name}'`);
      const noised =
        noiseMultiplier > 0
          ? tf.add(sum, gaussianNoise(variable.shape, noiseMultiplier * exampleClipNorm, noiseRandom))
          : sum;
      const mean = tf.div(noised, expectedBatchSize);
      const reg = penalty.grads[variable.name];
      grads[variable.name] = reg ? tf.add(mean, reg) : mean;
    }
    optimizer.applyGradients(grads);
    return tf.add(dataLoss, penalty.value) as tf.Scalar;
  };
}

/** N(0, std²) per coordinate, Float32 from the secure source's fillStandardNormal. */
function gaussianNoise(shape: number[], std: number, random: SecureRandom): tf.Tensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  random.fillStandardNormal(values);
  return tf.mul(tf.tensor(values, shape), std);
}

/**
 * ∇R and R for the data-independent terms: the layers' L2 penalties and FedProx's proximal term
 * (it depends only on the weights and the round's global model, so like R it is added after the
 * noise, not clipped with the examples). None when there are neither.
 */
function penaltyGradients(
  model: tf.LayersModel,
  variables: tf.Variable[],
  proximal: (() => tf.Scalar) | null,
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const hasPenalty = model.layers.some((layer) => layer.calculateLosses().length > 0);
  if (!hasPenalty && !proximal) return { value: tf.scalar(0), grads: {} };
  return tf.variableGrads(() => {
    const r = hasPenalty ? regularizationLoss(model) : tf.scalar(0);
    return (proximal ? tf.add(r, proximal()) : r) as tf.Scalar;
  }, variables);
}

function validateStepOptions(options: DpSgdStepOptions): void {
  const { exampleClipNorm, noiseMultiplier, expectedBatchSize, noiseRandom } = options;
  if (!(exampleClipNorm > 0 && Number.isFinite(exampleClipNorm)))
    throw new RangeError(`exampleClipNorm must be finite and > 0, got ${exampleClipNorm}`);
  if (!(noiseMultiplier >= 0 && Number.isFinite(noiseMultiplier)))
    throw new RangeError(`noiseMultiplier must be finite and ≥ 0, got ${noiseMultiplier}`);
  if (!(expectedBatchSize > 0 && Number.isFinite(expectedBatchSize)))
    throw new RangeError(`expectedBatchSize must be finite and > 0, got ${expectedBatchSize}`);
  // The type says SecureRandom; check at run time too, since a cast would defeat it silently.
  if ((noiseRandom as { secure?: unknown } | undefined)?.secure !== true)
    throw new TypeError('DP-SGD noise needs a SecureRandom (node:crypto), not a seeded generator');
}
