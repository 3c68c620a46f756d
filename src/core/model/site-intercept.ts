import type * as tf from '@tensorflow/tfjs';
import { countParameters } from './flat-weights';

/**
 * Site-specific intercepts (issue 14): each hospital keeps its own value of the output unit's
 * bias — the intercept of the logit — and never sends it. The hospitals' case mixes differ (a
 * cardiac centre at 4 % mortality, a community hospital at 10 %), and one shared intercept leaves
 * each of them miscalibrated while the pooled model is calibrated.
 *
 * Privacy: the intercept is one coordinate of the parameter vector DP-SGD already trains. Its
 * per-example gradient (p − y) is part of each example's gradient, so it is inside the norm that
 * is clipped to C_example, and the Gaussian noise z·C covers it like every other coordinate; the
 * step is the same sampled Gaussian mechanism the accountant charges, on the same rows, so keeping
 * the coordinate costs no ε beyond the run's DP-SGD. What leaves the hospital is the update with
 * that coordinate set to exactly 0 (siteUpdate): a constant, so nothing about the intercept is
 * released, and the served model at the hospital (global weights with its own intercept) stays
 * inside the hospital as every use of its data already does.
 */

/**
 * Index, in getFlatWeights order, of the output unit's bias. Every model createModel builds ends
 * with a one-unit Dense layer whose bias is the last trainable weight; anything else is refused.
 */
export function interceptIndex(model: tf.LayersModel): number {
  const output = model.layers[model.layers.length - 1];
  const weights = output?.trainableWeights ?? [];
  const bias = weights[weights.length - 1];
  const last = model.trainableWeights[model.trainableWeights.length - 1];
  const shape = bias?.shape ?? [];
  if (
    !output ||
    output.getClassName() !== 'Dense' ||
    weights.length !== 2 ||
    shape.length !== 1 ||
    shape[0] !== 1 ||
    last?.name !== bias.name
  )
    throw new Error(
      'a site intercept needs a model whose last trainable weight is the bias of a one-unit Dense output',
    );
  return countParameters(model) - 1;
}

/** The weights a hospital serves and trains from: the global ones with its own intercept. */
export function withSiteIntercept(
  global: Float32Array,
  index: number,
  intercept: number | null,
): Float32Array {
  checkIndex(global, index);
  const weights = Float32Array.from(global);
  if (intercept !== null) {
    if (!Number.isFinite(intercept)) throw new RangeError(`site intercept must be finite, got ${intercept}`);
    weights[index] = intercept;
  }
  return weights;
}

/**
 * Splits a hospital's trained weights into what it sends and what it keeps: the update
 * local − global with the intercept's coordinate exactly 0, and the trained intercept.
 */
export function siteUpdate(
  local: Float32Array,
  global: Float32Array,
  index: number,
): { delta: Float32Array; intercept: number } {
  if (local.length !== global.length)
    throw new RangeError(`local has ${local.length} weights, global ${global.length}`);
  checkIndex(global, index);
  const delta = new Float32Array(local.length);
  for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
  delta[index] = 0;
  return { delta, intercept: local[index] };
}

function checkIndex(weights: Float32Array, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= weights.length)
    throw new RangeError(`intercept index ${index} is outside a vector of ${weights.length}`);
}
