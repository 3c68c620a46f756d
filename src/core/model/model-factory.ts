import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../random/seeded-random';

/** The mortality model's architecture; every field is stored in model.json's topology. */
export interface ModelSpec {
  kind: 'mlp' | 'logistic';
  inputDim: number;
  /** mlp only; default [64, 32]. */
  hiddenUnits?: number[];
  /** Dropout rate after each hidden layer, in [0, 1); mlp only; default 0. */
  dropout?: number;
  /** L2 penalty on every kernel (not on biases); default 1e-4. */
  l2?: number;
}

export const DEFAULT_HIDDEN_UNITS: readonly number[] = [64, 32];
export const DEFAULT_L2 = 1e-4;

/**
 * In-hospital mortality of MIMIC-IV ICU stays, 11.7 % (8,987 of 76,943, v2.0; mimic-code
 * tableone.ipynb, ../shared/reference/CLINICAL_DATA.md §0 [V]): a public prior, the output bias
 * starts at its logit so the initial model predicts the base rate instead of 50 %.
 */
export const PUBLIC_MORTALITY_PRIOR = 0.117;

/**
 * Builds a sequential binary classifier with one sigmoid output. The same spec and seed always
 * give the same initial weights: each hidden layer's Glorot-uniform initializer gets its own seed
 * derived from `seed` (tfjs initializers draw from Math.random unless seeded). Hospitals therefore
 * start from an identical global model in round 0 without shipping it.
 *
 * The output starts at the public base rate (bias = logit of PUBLIC_MORTALITY_PRIOR). A logistic
 * model's weights start at zero: its loss is convex, so nothing needs breaking symmetry, and random
 * starting weights are a random ranking that DP-SGD's noisy, clipped steps take most of a run to
 * undo (measured on archetypes, 3 hospitals, 5 rounds, ε = 1: pooled AUROC 0.79 from a Glorot start
 * with reference standardisation, 0.83 from zero weights and the base-rate bias).
 */
export function createModel(spec: ModelSpec, seed: number): tf.LayersModel {
  validateSpec(spec);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const seeds = new SeededRandom(seed);
  const l2 = spec.l2 ?? DEFAULT_L2;
  const kernelRegularizer = l2 > 0 ? tf.regularizers.l2({ l2 }) : undefined;
  const priorLogit = Math.log(PUBLIC_MORTALITY_PRIOR / (1 - PUBLIC_MORTALITY_PRIOR));
  const dense = (name: string, units: number, activation: 'relu' | 'sigmoid', first: boolean) =>
    tf.layers.dense({
      name,
      units,
      activation,
      inputShape: first ? [spec.inputDim] : undefined,
      kernelInitializer:
        spec.kind === 'logistic'
          ? tf.initializers.zeros()
          : tf.initializers.glorotUniform({ seed: seeds.fork(name).nextUint32() }),
      biasInitializer: activation === 'sigmoid' ? tf.initializers.constant({ value: priorLogit }) : 'zeros',
      kernelRegularizer,
    });

  const model = tf.sequential({ name: `himas_${spec.kind}` });
  if (spec.kind === 'logistic') {
    model.add(dense('output', 1, 'sigmoid', true));
    return model;
  }
  const hiddenUnits = spec.hiddenUnits ?? DEFAULT_HIDDEN_UNITS;
  const dropout = spec.dropout ?? 0;
  hiddenUnits.forEach((units, i) => {
    model.add(dense(`hidden_${i + 1}`, units, 'relu', i === 0));
    // No seed: training draws dropout masks from the caller's Random (see training-forward.ts).
    if (dropout > 0) model.add(tf.layers.dropout({ name: `dropout_${i + 1}`, rate: dropout }));
  });
  model.add(dense('output', 1, 'sigmoid', hiddenUnits.length === 0));
  return model;
}

function validateSpec(spec: ModelSpec): void {
  if (spec.kind !== 'mlp' && spec.kind !== 'logistic') {
    throw new RangeError(`model kind must be 'mlp' or 'logistic', got '${String(spec.kind)}'`);
  }
  if (!Number.isInteger(spec.inputDim) || spec.inputDim < 1) {
    throw new RangeError(`inputDim must be a positive integer, got ${spec.inputDim}`);
  }
  if (spec.hiddenUnits !== undefined && !spec.hiddenUnits.every((u) => Number.isInteger(u) && u >= 1)) {
    throw new RangeError(`hiddenUnits must be positive integers, got [${spec.hiddenUnits.join(', ')}]`);
  }
  if (spec.kind === 'logistic' && (spec.hiddenUnits?.length || spec.dropout)) {
    throw new RangeError('a logistic model has no hidden layers: hiddenUnits and dropout do not apply');
  }
  const dropout = spec.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${dropout}`);
  const l2 = spec.l2 ?? DEFAULT_L2;
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new RangeError(`l2 must be finite and ≥ 0, got ${l2}`);
}
