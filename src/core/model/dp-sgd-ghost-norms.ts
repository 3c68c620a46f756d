import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random/random';
import { binaryCrossEntropyPerExample } from './loss';

/**
 * Per-example gradient norms of a dense Sequential model without per-example gradients.
 *
 * For a Dense layer z = a·W + b, example i's gradient is ∂ℓᵢ/∂W = aᵢᵀδᵢ and ∂ℓᵢ/∂b = δᵢ, where
 * δᵢ = ∂ℓᵢ/∂zᵢ is the backpropagated error. aᵢᵀδᵢ is an outer product, so its Frobenius norm is
 * ‖aᵢ‖·‖δᵢ‖ (Goodfellow 2015, "Efficient per-example gradient computations", arXiv:1510.01799;
 * Lee & Kifer 2021, "Scaling up differentially private deep learning with fast per-example
 * gradient clipping", Sec. 3). The whole-model norm is gᵢ = √(Σ_layers ‖aᵢ‖²‖δᵢ‖² + ‖δᵢ‖²).
 * Batched δ come from one backward pass: a zero "probe" eₗ is added to every pre-activation, and
 * ∂(Σᵢ ℓᵢ)/∂eₗ has row i equal to δᵢ because ℓᵢ depends on row i only.
 */

type Activation = (z: tf.Tensor) => tf.Tensor;

const ACTIVATIONS: Record<string, Activation> = {
  linear: (z) => z,
  relu: (z) => tf.relu(z),
  sigmoid: (z) => tf.sigmoid(z),
  tanh: (z) => tf.tanh(z),
};

export type ChainLink =
  | { kind: 'dense'; name: string; kernel: tf.Variable; bias: tf.Variable | null; activation: Activation }
  | { kind: 'dropout'; rate: number };

/**
 * The model as a chain of Dense and Dropout layers (what createModel builds), with each Dense
 * layer's variables. Anything else is an error: its per-example norms would be wrong, not slow.
 */
export function denseChain(model: tf.LayersModel): ChainLink[] {
  return model.layers.map((layer): ChainLink => {
    const kind = layer.getClassName();
    const config = layer.getConfig();
    if (kind === 'Dropout') return { kind: 'dropout', rate: config.rate as number };
    if (kind !== 'Dense') {
      throw new Error(`DP-SGD supports Dense and Dropout layers only; layer '${layer.name}' is a ${kind}`);
    }
    const activationName = String(config.activation);
    const activation = ACTIVATIONS[activationName];
    if (!activation) {
      throw new Error(`DP-SGD does not support activation '${activationName}' of layer '${layer.name}'`);
    }
    const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const kernel = variables.find((v) => v.rank === 2);
    const bias = variables.find((v) => v.rank === 1) ?? null;
    if (!kernel || variables.length !== (bias ? 2 : 1)) {
      throw new Error(`layer '${layer.name}' does not hold the kernel (and bias) a Dense layer should`);
    }
    return { kind: 'dense', name: layer.name, kernel, bias, activation };
  });
}

export interface GhostPass {
  /** ℓᵢ, shape [batch]. */
  perExampleLoss: tf.Tensor1D;
  /** Per Dense layer, its input activations a, shape [batch, in]. */
  inputs: tf.Tensor2D[];
  /** Per Dense layer, the errors δ = ∂ℓᵢ/∂zᵢ, shape [batch, out]. */
  errors: tf.Tensor2D[];
  /** gᵢ = ‖∇ℓᵢ‖ over all variables, shape [batch]. */
  norms: tf.Tensor1D;
}

/**
 * One forward and one backward pass giving activations, errors and per-example gradient norms.
 * Dropout masks are drawn from `random` as forwardForTraining draws them. Call inside tf.tidy:
 * the returned tensors are tracked by the caller's scope.
 */
export function ghostPass(chain: ChainLink[], x: tf.Tensor2D, y: tf.Tensor2D, random: Random): GhostPass {
  const batch = x.shape[0];
  const dense = chain.filter((l): l is Extract<ChainLink, { kind: 'dense' }> => l.kind === 'dense');
  const probes = dense.map((l) => tf.zeros([batch, l.kernel.shape[1] as number]) as tf.Tensor2D);
  // Tensors made inside tf.grads' function are disposed when it returns unless kept; these are
  // kept and handed back to the caller's tidy scope below.
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    if (t !== x) kept.push(tf.keep(t));
    return t;
  };
  const inputs: tf.Tensor2D[] = [];
  let perExampleLoss: tf.Tensor1D | undefined;
  const errors = tf.grads((...e: tf.Tensor[]) => {
    let h: tf.Tensor = x;
    let k = 0;
    for (const link of chain) {
      if (link.kind === 'dropout') {
        h = tf.dropout(h, link.rate, undefined, random.nextUint32());
        continue;
      }
      inputs.push(keep(h) as tf.Tensor2D);
      let z = tf.matMul(h as tf.Tensor2D, link.kernel);
      if (link.bias) z = tf.add(z, link.bias);
      h = link.activation(tf.add(z, e[k++]));
    }
    perExampleLoss = keep(binaryCrossEntropyPerExample(y, h));
    return tf.sum(perExampleLoss);
  })(probes) as tf.Tensor2D[];
  // Move the kept tensors into the enclosing scope: a clone is tracked there, the original freed.
  const adopt = <T extends tf.Tensor>(t: T): T => (t === x ? t : (tf.clone(t) as T));
  const result = {
    perExampleLoss: adopt(perExampleLoss!),
    inputs: inputs.map(adopt),
    errors,
  };
  kept.forEach((t) => t.dispose());
  const squared = dense.map((link, l) => {
    const errorSq = tf.sum(tf.square(result.errors[l]), 1);
    const inputSq = tf.sum(tf.square(result.inputs[l]), 1);
    // ‖aᵢᵀδᵢ‖² = ‖aᵢ‖²‖δᵢ‖² (kernel) plus ‖δᵢ‖² (bias).
    const kernelSq = tf.mul(inputSq, errorSq);
    return link.bias ? tf.add(kernelSq, errorSq) : kernelSq;
  });
  const norms = tf.sqrt(squared.length === 1 ? squared[0] : tf.addN(squared)) as tf.Tensor1D;
  return { ...result, norms };
}

/**
 * Σᵢ cᵢ∇ℓᵢ per variable, the gradient of the reweighted loss Σᵢ cᵢℓᵢ with c held constant. With
 * the errors already computed this needs no second backward pass: for each Dense layer it is
 * aᵀ(c ⊙ δ) for the kernel and Σᵢ cᵢδᵢ for the bias (Lee & Kifer 2021, Alg. 1), which is exactly
 * what tf.variableGrads of Σᵢ cᵢℓᵢ would compute. Keyed by variable name.
 */
export function weightedGradientSum(
  chain: ChainLink[],
  pass: GhostPass,
  weights: tf.Tensor1D,
): Map<string, tf.Tensor> {
  const sums = new Map<string, tf.Tensor>();
  const column = tf.expandDims(weights, 1);
  let l = 0;
  for (const link of chain) {
    if (link.kind !== 'dense') continue;
    const weighted = tf.mul(pass.errors[l], column) as tf.Tensor2D;
    sums.set(link.kernel.name, tf.matMul(pass.inputs[l], weighted, true, false));
    if (link.bias) sums.set(link.bias.name, tf.sum(weighted, 0));
    l++;
  }
  return sums;
}

/** Clip factors cᵢ = min(1, C/gᵢ) (Abadi et al. 2016, Alg. 1); gᵢ = 0 gives 1. */
export function clipFactors(norms: tf.Tensor1D, clipNorm: number): tf.Tensor1D {
  return tf.minimum(1, tf.div(clipNorm, norms)) as tf.Tensor1D;
}
