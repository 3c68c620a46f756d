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
 * the coordinate costs no ε beyond the run's DP-SGD. What leaves the hospital at that coordinate
 * (siteUpdate) is either exactly 0 (the bench harness's measured variant) or, as the jobs send it,
 * the round's change of its own intercept, clipped, masked and noised with the rest of the update
 * (post-processing of the same DP-SGD); the intercept itself, and the served model at the hospital
 * (global weights with its own intercept), stay inside the hospital as every use of its data does.
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
 * local − global, and the trained intercept. At the intercept's coordinate the update carries
 * exactly 0, or, given the intercept the hospital started the round from, the change of its own
 * intercept during the round: then the shared intercept moves by the hospitals' mean change and
 * so follows the mean of their intercepts (all start from the shared one), which gives the shared
 * model a usable intercept. That change is one more coordinate of the clipped (masked, noised)
 * update and post-processing of DP-SGD like the rest of it: no ε beyond the run's.
 */
export function siteUpdate(
  local: Float32Array,
  global: Float32Array,
  index: number,
  startIntercept?: number,
): { delta: Float32Array; intercept: number } {
  if (local.length !== global.length)
    throw new RangeError(`local has ${local.length} weights, global ${global.length}`);
  checkIndex(global, index);
  const delta = new Float32Array(local.length);
  for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
  if (startIntercept !== undefined && !Number.isFinite(startIntercept))
    throw new RangeError(`start intercept must be finite, got ${startIntercept}`);
  delta[index] = startIntercept === undefined ? 0 : local[index] - startIntercept;
  return { delta, intercept: local[index] };
}

function checkIndex(weights: Float32Array, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= weights.length)
    throw new RangeError(`intercept index ${index} is outside a vector of ${weights.length}`);
}
