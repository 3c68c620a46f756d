import * as tf from '@tensorflow/tfjs';
import { denseChain, type ChainLink } from '../model/dp-sgd-ghost-norms';

/**
 * Feature attributions on the logit of a HIMAS model (a chain of Dense layers ending in a sigmoid),
 * relative to a baseline row of the design matrix:
 * - gradient × input: aⱼ = ∂logit/∂xⱼ(x) · (xⱼ − bⱼ) (Shrikumar et al. 2016, arXiv:1605.01713);
 * - integrated gradients: aⱼ = (xⱼ − bⱼ) · mean over the path b + α(x − b) of ∂logit/∂xⱼ, with a
 *   midpoint Riemann sum (Sundararajan, Taly, Yan 2017, "Axiomatic attribution", eq. 3).
 * Both are on the logit (log-odds), where a logistic model is linear: there Σⱼ aⱼ equals
 * logit(x) − logit(b) exactly, and for an MLP the gap says how far the explanation is from complete.
 */
export type AttributionMethod = 'gradient-x-input' | 'integrated-gradients';

export interface Attribution {
  method: AttributionMethod;
  /** Per design-matrix column, in log-odds. */
  contributions: Float64Array;
  logit: number;
  baselineLogit: number;
  /** logit − baselineLogit − Σ contributions (0 for a logistic model, up to float32 rounding). */
  completenessGap: number;
}

export interface AttributionOptions {
  method?: AttributionMethod;
  /** Path points for integrated gradients (default 32). */
  steps?: number;
}

type DenseLink = Extract<ChainLink, { kind: 'dense' }>;

/** The model's logit (the output layer's pre-activation) for a batch, shape [batch]. */
function logits(dense: DenseLink[], x: tf.Tensor2D): tf.Tensor1D {
  let h: tf.Tensor = x;
  dense.forEach((link, i) => {
    const z = link.bias
      ? tf.add(tf.matMul(h as tf.Tensor2D, link.kernel), link.bias)
      : tf.matMul(h as tf.Tensor2D, link.kernel);
    // Dropout is the identity at inference, so the chain is the Dense layers alone.
    h = i === dense.length - 1 ? z : link.activation(z);
  });
  return tf.reshape(h, [-1]) as tf.Tensor1D;
}

function outputChain(model: tf.LayersModel): DenseLink[] {
  const dense = denseChain(model).filter((l): l is DenseLink => l.kind === 'dense');
  const last = model.layers[model.layers.length - 1];
  const activation = String(last.getConfig().activation);
  if (dense.length === 0 || activation !== 'sigmoid' || (dense.at(-1)!.kernel.shape[1] as number) !== 1) {
    throw new Error(`model '${model.name}' must end in one sigmoid unit to explain its logit`);
  }
  return dense;
}

export function attribute(
  model: tf.LayersModel,
  input: Float32Array,
  baseline: Float32Array,
  options: AttributionOptions = {},
): Attribution {
  const method = options.method ?? 'gradient-x-input';
  const steps = method === 'integrated-gradients' ? (options.steps ?? 32) : 1;
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (input.length !== baseline.length) {
    throw new RangeError(`input has ${input.length} columns, baseline ${baseline.length}`);
  }
  const dense = outputChain(model);
  const cols = input.length;
  const inputDim = dense[0].kernel.shape[0] as number;
  if (cols !== inputDim) throw new RangeError(`the model expects ${inputDim} columns, got ${cols}`);

  const { gradients, ends } = tf.tidy(() => {
    const x = tf.tensor2d(input, [1, cols]);
    const b = tf.tensor2d(baseline, [1, cols]);
    // gradient × input evaluates the gradient at x itself; integrated gradients at path midpoints.
    const alphas =
      method === 'integrated-gradients'
        ? tf.tensor2d(
            Array.from({ length: steps }, (_, k) => (k + 0.5) / steps),
            [steps, 1],
          )
        : tf.ones([1, 1]);
    const path = tf.add(b, tf.mul(alphas, tf.sub(x, b))) as tf.Tensor2D;
    const grad = tf.grad((points: tf.Tensor) => tf.sum(logits(dense, points as tf.Tensor2D)));
    const meanGradient = tf.mean(grad(path), 0);
    return {
      gradients: meanGradient.dataSync() as Float32Array,
      ends: logits(dense, tf.concat([x, b], 0) as tf.Tensor2D).dataSync() as Float32Array,
    };
  });
  const contributions = new Float64Array(cols);
  let sum = 0;
  for (let j = 0; j < cols; j++) {
    contributions[j] = gradients[j] * (input[j] - baseline[j]);
    sum += contributions[j];
  }
  const [logit, baselineLogit] = [ends[0], ends[1]];
  return { method, contributions, logit, baselineLogit, completenessGap: logit - baselineLogit - sum };
}
