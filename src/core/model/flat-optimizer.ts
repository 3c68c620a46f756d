/**
 * tfjs' Adam and SGD (tfjs-core 4.22 optimizers/adam_optimizer.js, sgd_optimizer.js) on one flat
 * Float32Array, for the fused DP-SGD path: same update, same defaults, same rounding of the stored
 * weights and moments to float32 after every step, so the fused path and the tfjs path move the
 * weights alike. Both only post-process the privatised gradient.
 */
export interface FlatOptimizer {
  /** weights ← update(weights, gradient), in place. */
  step(weights: Float32Array, gradient: Float64Array): void;
}

/** tf.train.sgd(lr): w ← w − lr·g. */
export function flatSgd(learningRate: number): FlatOptimizer {
  return {
    step(weights, gradient) {
      for (let i = 0; i < weights.length; i++) weights[i] = weights[i] - learningRate * gradient[i];
    },
  };
}

/**
 * tf.train.adam(lr) with tfjs' defaults β₁ = 0.9, β₂ = 0.999 and ε = the backend's epsilon (1e-7
 * for float32; passed in, since this module does not import tfjs):
 *   m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← w − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
 * (Kingma & Ba 2015, Alg. 1, with ε outside the root as tfjs has it).
 */
export function flatAdam(learningRate: number, parameters: number, epsilon: number): FlatOptimizer {
  const beta1 = 0.9;
  const beta2 = 0.999;
  const m = new Float32Array(parameters);
  const v = new Float32Array(parameters);
  // tfjs keeps β^t in float32 variables, multiplied once per step.
  const acc = new Float32Array([beta1, beta2]);
  return {
    step(weights, gradient) {
      const oneMinusAcc1 = Math.fround(1 - acc[0]);
      const oneMinusAcc2 = Math.fround(1 - acc[1]);
      for (let i = 0; i < weights.length; i++) {
        const g = gradient[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        weights[i] =
          weights[i] - (learningRate * (m[i] / oneMinusAcc1)) / (Math.sqrt(v[i] / oneMinusAcc2) + epsilon);
      }
      acc[0] = acc[0] * beta1;
      acc[1] = acc[1] * beta2;
    },
  };
}
