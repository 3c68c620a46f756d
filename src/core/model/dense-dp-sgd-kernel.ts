import { PROBABILITY_EPSILON } from './loss';

/**
 * The DP-SGD step of dp-sgd-step.ts for a chain of Dense layers, written out by hand over flat
 * Float32Array weights, so a step costs a few loops instead of some hundred tfjs op dispatches
 * (which dominate a 24-feature model: docs/benchmarks.md, local training). Same mathematics:
 *
 *   δ_L = p − y (sigmoid + binary cross-entropy; 0 where p is clipped to [ε, 1 − ε], as the
 *   gradient of tfjs' clipByValue is), δ_{l−1} = (δ_l·W_lᵀ) ⊙ act′(z_{l−1});
 *   ‖∇ℓᵢ‖² = Σ_l ‖a_{l,i}‖²·‖δ_{l,i}‖² + ‖δ_{l,i}‖² (ghost norms, dp-sgd-ghost-norms.ts);
 *   Σᵢ cᵢ∇ℓᵢ with cᵢ = min(1, C/‖∇ℓᵢ‖): kernel a_lᵀ(c ⊙ δ_l), bias Σᵢ cᵢδ_{l,i}.
 *
 * Intermediate values are doubles (JavaScript numbers); weights stay Float32 as in the tfjs
 * variables, so the two paths agree to float32 rounding.
 */

export type HiddenActivation = 'relu' | 'linear' | 'tanh' | 'sigmoid';

export interface DenseLayerLayout {
  inputs: number;
  units: number;
  /** The output layer is always sigmoid with one unit; this is the activation of hidden layers. */
  activation: HiddenActivation;
  /** Offsets into the flat parameter vector (getFlatWeights order: kernel [in, out] row-major, then bias). */
  kernelOffset: number;
  biasOffset: number | null;
  /** L2 coefficient of the kernel's regulariser (penalty l2·Σw², gradient 2·l2·w); 0 = none. */
  kernelL2: number;
}

export interface DenseLayout {
  layers: DenseLayerLayout[];
  parameters: number;
}

/** Scratch buffers for one batch size; grown on demand so a Poisson batch of any size fits. */
export class DenseWorkspace {
  /** Per layer, the layer's input activations a_l, [batch, inputs]; unused for layer 0 (read in place). */
  readonly activations: Float64Array[];
  /** Per layer, pre-activations z_l then, in place, the errors δ_l, [batch, units]. */
  readonly errors: Float64Array[];
  /** Per example: clip factor cᵢ (squared norm first). */
  factors: Float64Array;
  /** One-unit kernels as doubles, refreshed every step (unused for wider layers). */
  readonly transposed: Float64Array[];
  private capacity = 0;

  constructor(private readonly layout: DenseLayout) {
    this.activations = layout.layers.map(() => new Float64Array(0));
    this.errors = layout.layers.map(() => new Float64Array(0));
    this.factors = new Float64Array(0);
    this.transposed = layout.layers.map((l) => new Float64Array(l.units === 1 ? l.inputs : 0));
  }

  ensure(batch: number): void {
    if (batch <= this.capacity) return;
    const capacity = Math.max(batch, Math.ceil(this.capacity * 1.5));
    this.layout.layers.forEach((l, i) => {
      if (i > 0) this.activations[i] = new Float64Array(capacity * l.inputs);
      this.errors[i] = new Float64Array(capacity * l.units);
    });
    this.factors = new Float64Array(capacity);
    this.capacity = capacity;
  }
}

export interface ClippedSum {
  /** Σᵢ −[yᵢ log pᵢ + (1−yᵢ) log(1−pᵢ)] with p clipped to [ε, 1−ε], before the update. */
  lossSum: number;
  /** Examples whose gradient norm exceeded C (cᵢ < 1). */
  clipped: number;
}

/**
 * Writes Σᵢ min(1, C/‖∇ℓᵢ‖)·∇ℓᵢ over the rows `batch` of `features` into `sum` (getFlatWeights
 * layout, overwritten). No noise, no division, no penalty: the caller adds those.
 */
export function clippedGradientSum(
  layout: DenseLayout,
  weights: Float32Array,
  /** rows × cols, row-major, as doubles (the trainer converts TrainingData.features once). */
  features: Float64Array,
  labels: Float32Array,
  cols: number,
  batch: Int32Array,
  clipNorm: number,
  work: DenseWorkspace,
  sum: Float64Array,
  /** ‖x_r‖² per row of `features`, if the caller cached it (it does not change between steps). */
  rowSquaredNorms?: Float64Array,
): ClippedSum {
  sum.fill(0);
  const n = batch.length;
  if (n === 0) return { lossSum: 0, clipped: 0 };
  work.ensure(n);
  const layers = layout.layers;
  const last = layers.length - 1;
  // Layer 0 reads its rows in place: a_0 row r is features[batch[r]·cols …].
  const input = (l: number) => (l === 0 ? features : work.activations[l]);

  // Forward: z_l = a_l·W_l + b_l kept in errors[l]; a_{l+1} = act(z_l).
  for (let l = 0; l <= last; l++) {
    const { inputs, units, kernelOffset, biasOffset } = layers[l];
    // A one-unit kernel [inputs, 1] is already contiguous; copied to doubles once per step.
    const wt = work.transposed[l];
    if (units === 1) for (let i = 0; i < inputs; i++) wt[i] = weights[kernelOffset + i];
    const a = input(l);
    const z = work.errors[l];
    const next = l < last ? work.activations[l + 1] : null;
    const act = layers[l].activation;
    if (units === 1) {
      // One column (the output layer, a logistic model's only one): a dot product per row.
      const b = biasOffset === null ? 0 : weights[biasOffset];
      for (let r = 0; r < n; r++) {
        const ar = l === 0 ? batch[r] * cols : r * inputs;
        let s = b;
        for (let i = 0; i < inputs; i++) s += a[ar + i] * wt[i];
        z[r] = s;
        if (next) next[r] = activate(act, s);
      }
      continue;
    }
    for (let r = 0; r < n; r++) {
      // Row r of z as Σᵢ aᵢ·W[i, :] (contiguous rows of W); inputs that are 0 (ReLU) cost nothing.
      const ar = l === 0 ? batch[r] * cols : r * inputs;
      const zr = r * units;
      for (let o = 0; o < units; o++) z[zr + o] = biasOffset === null ? 0 : weights[biasOffset + o];
      for (let i = 0; i < inputs; i++) {
        const ai = a[ar + i];
        if (ai === 0) continue;
        const wi = kernelOffset + i * units;
        for (let o = 0; o < units; o++) z[zr + o] += ai * weights[wi + o];
      }
      if (next) for (let o = 0; o < units; o++) next[zr + o] = activate(act, z[zr + o]);
    }
  }

  // Output error and loss: sigmoid with one unit, binary cross-entropy.
  let lossSum = 0;
  const zOut = work.errors[last];
  for (let r = 0; r < n; r++) {
    const p = 1 / (1 + Math.exp(-zOut[r]));
    const y = labels[batch[r]];
    const inside = p >= PROBABILITY_EPSILON && p <= 1 - PROBABILITY_EPSILON;
    const pc = inside ? p : p < PROBABILITY_EPSILON ? PROBABILITY_EPSILON : 1 - PROBABILITY_EPSILON;
    lossSum -= y === 1 ? Math.log(pc) : Math.log(1 - pc); // labels are 0 or 1 (validated)
    zOut[r] = inside ? p - y : 0;
  }

  // Backward: δ_{l−1} = (δ_l·W_lᵀ) ⊙ act′(z_{l−1}), written over z_{l−1}; a_l = act(z_{l−1}) gives act′.
  for (let l = last; l > 0; l--) {
    const { inputs, units, kernelOffset } = layers[l];
    const d = work.errors[l];
    const prev = work.errors[l - 1];
    const aIn = work.activations[l];
    const act = layers[l - 1].activation;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < inputs; i++) {
        const k = r * inputs + i;
        // ReLU′ = 0 where z ≤ 0: δ is 0 there whatever the sum, so skip it.
        if (act === 'relu' && prev[k] <= 0) {
          prev[k] = 0;
          continue;
        }
        let s = 0;
        const wi = kernelOffset + i * units;
        for (let o = 0; o < units; o++) s += d[r * units + o] * weights[wi + o];
        prev[k] = s * derivative(act, prev[k], aIn[k]);
      }
    }
  }

  // Per-example norms (ghost norms), then clip factors cᵢ = min(1, C/gᵢ); gᵢ = 0 gives 1.
  const factors = work.factors;
  for (let r = 0; r < n; r++) factors[r] = 0;
  for (let l = 0; l <= last; l++) {
    const { inputs, units, biasOffset } = layers[l];
    const a = input(l);
    const d = work.errors[l];
    for (let r = 0; r < n; r++) {
      let aa = 0;
      if (l === 0 && rowSquaredNorms) aa = rowSquaredNorms[batch[r]];
      else {
        const ar = l === 0 ? batch[r] * cols : r * inputs;
        for (let i = 0; i < inputs; i++) aa += a[ar + i] * a[ar + i];
      }
      let dd = 0;
      for (let o = 0; o < units; o++) dd += d[r * units + o] * d[r * units + o];
      factors[r] += biasOffset === null ? aa * dd : (aa + 1) * dd;
    }
  }
  let clipped = 0;
  for (let r = 0; r < n; r++) {
    const norm = Math.sqrt(factors[r]);
    const c = norm > clipNorm ? clipNorm / norm : 1;
    if (c < 1) clipped++;
    factors[r] = c;
  }

  // Σᵢ cᵢ·aᵢᵀδᵢ and Σᵢ cᵢ·δᵢ.
  for (let l = 0; l <= last; l++) {
    const { inputs, units, kernelOffset, biasOffset } = layers[l];
    const a = input(l);
    const d = work.errors[l];
    if (units === 1) {
      // The output layer (and a logistic model's only one): one column, no inner loop over units.
      let biasSum = 0;
      for (let r = 0; r < n; r++) {
        const cd = factors[r] * d[r];
        if (cd === 0) continue;
        biasSum += cd;
        const ar = l === 0 ? batch[r] * cols : r * inputs;
        for (let i = 0; i < inputs; i++) sum[kernelOffset + i] += cd * a[ar + i];
      }
      if (biasOffset !== null) sum[biasOffset] += biasSum;
      continue;
    }
    for (let r = 0; r < n; r++) {
      const c = factors[r];
      const dr = r * units;
      const ar = l === 0 ? batch[r] * cols : r * inputs;
      if (biasOffset !== null) for (let o = 0; o < units; o++) sum[biasOffset + o] += c * d[dr + o];
      for (let i = 0; i < inputs; i++) {
        const ca = c * a[ar + i];
        if (ca === 0) continue;
        const gi = kernelOffset + i * units;
        for (let o = 0; o < units; o++) sum[gi + o] += ca * d[dr + o];
      }
    }
  }
  return { lossSum, clipped };
}

function activate(act: HiddenActivation, z: number): number {
  switch (act) {
    case 'relu':
      return z > 0 ? z : 0;
    case 'tanh':
      return Math.tanh(z);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    default:
      return z;
  }
}

/** act′ at z, given a = act(z); relu′(0) = 0 as in tfjs' gradient (step(x) is 1 for x > 0 only). */
function derivative(act: HiddenActivation, z: number, a: number): number {
  switch (act) {
    case 'relu':
      return z > 0 ? 1 : 0;
    case 'tanh':
      return 1 - a * a;
    case 'sigmoid':
      return a * (1 - a);
    default:
      return 1;
  }
}
