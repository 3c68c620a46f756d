import * as tf from '@tensorflow/tfjs';
import {
  binaryCrossEntropyPerExample,
  clippedGradientSum,
  createModel,
  DenseWorkspace,
  fusedDenseLayout,
  getFlatWeights,
  initializeBackend,
  trainDenseDpSgdFused,
  trainLocallyWithDpSgd,
  type DenseLayout,
  type ModelSpec,
  type TrainingData,
} from '../../../../src/core/model';
import type { SecureRandom } from '../../../../src/core/random/random';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';
import { syntheticCohort } from './synthetic-data';

// The default DP-SGD recipe's shape: 24 features (schemas/training-config.ts DP_SGD_RECIPE).
const COLS = 24;
let data: TrainingData;

beforeAll(async () => {
  await initializeBackend('auto');
  data = syntheticCohort(600, COLS, 13);
});

/**
 * CSPRNG values recorded by one run and replayed to the other, so the tfjs and the fused path
 * train on the same Poisson batches. Only the test does this: the code under test never sees a
 * generator it could rebuild.
 */
class RecordedRandom implements SecureRandom {
  readonly secure = true as const;
  private readonly source = new CryptoRandom();
  private readonly values: number[] = [];
  private index = 0;
  constructor(
    private readonly mode: 'record' | 'replay',
    values?: number[],
  ) {
    if (values) this.values = values;
  }
  replay(): RecordedRandom {
    return new RecordedRandom('replay', this.values);
  }
  nextDouble(): number {
    if (this.mode === 'replay') return this.values[this.index++];
    const v = this.source.nextDouble();
    this.values.push(v);
    return v;
  }
  nextUint32(): number {
    throw new Error('not used by DP-SGD without dropout');
  }
  fillStandardNormal(): void {
    throw new Error('no noise expected in this test (z = 0)');
  }
}

function layoutOf(model: tf.LayersModel): DenseLayout {
  const layout = fusedDenseLayout(model);
  if ('unsupported' in layout) throw new Error(layout.unsupported);
  return layout;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Σᵢ min(1, C/‖∇ℓᵢ‖)∇ℓᵢ by tf.variableGrads one example at a time: the definition. */
function referenceClippedSum(model: tf.LayersModel, rows: number[], clipNorm: number) {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sum = new Float64Array(getFlatWeights(model).length);
  const norms: number[] = [];
  for (const r of rows) {
    const grads = tf.tidy(() => {
      const x = tf.tensor2d(data.features.subarray(r * COLS, (r + 1) * COLS), [1, COLS]);
      const y = tf.tensor2d([data.labels[r]], [1, 1]);
      const { grads: g } = tf.variableGrads(
        () => tf.sum(binaryCrossEntropyPerExample(y, model.apply(x) as tf.Tensor)) as tf.Scalar,
        variables,
      );
      return variables.flatMap((v) => Array.from(g[v.name].dataSync()));
    });
    const norm = Math.hypot(...grads);
    norms.push(norm);
    const c = Math.min(1, clipNorm / norm);
    grads.forEach((g, k) => (sum[k] += c * g));
  }
  return { sum, norms };
}

const SPECS: Array<[string, ModelSpec]> = [
  ['logistic (the default recipe)', { kind: 'logistic', inputDim: COLS }],
  ['mlp [16]', { kind: 'mlp', inputDim: COLS, hiddenUnits: [16] }],
  ['mlp [16, 8], no L2', { kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8], l2: 0 }],
];

describe('clippedGradientSum (the fused per-example kernel)', () => {
  it.each(SPECS)('%s: equals per-example tfjs gradients clipped to C, with norms above C', (_name, spec) => {
    const model = createModel(spec, 3);
    // A logistic model starts at zero weights; move it so its gradients are not all alike.
    if (spec.kind === 'logistic') {
      const w = getFlatWeights(model).map((_, i) => 0.3 * Math.sin(i + 1));
      model.trainableWeights.forEach((v, i) =>
        v.write(tf.tensor(i === 0 ? w.subarray(0, COLS) : w.subarray(COLS), v.shape as number[])),
      );
    }
    const rows = Array.from({ length: 40 }, (_, i) => (i * 7) % data.rows);
    const unclipped = referenceClippedSum(model, rows, Infinity);
    const clipNorm = [...unclipped.norms].sort((a, b) => a - b)[20]; // the median
    const reference = referenceClippedSum(model, rows, clipNorm);
    const layout = layoutOf(model);
    const sum = new Float64Array(layout.parameters);
    const result = clippedGradientSum(
      layout,
      getFlatWeights(model),
      Float64Array.from(data.features),
      data.labels,
      COLS,
      Int32Array.from(rows),
      clipNorm,
      new DenseWorkspace(layout),
      sum,
    );
    // The guard was exercised: about half the examples exceeded C and were scaled down.
    expect(result.clipped).toBeGreaterThanOrEqual(15);
    expect(result.clipped).toBeLessThanOrEqual(20);
    expect(maxAbsDiff(sum, reference.sum)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('bounds every example by C: one example over C contributes a gradient of norm exactly C', () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [16] }, 5);
    const layout = layoutOf(model);
    const weights = getFlatWeights(model);
    const work = new DenseWorkspace(layout);
    const sum = new Float64Array(layout.parameters);
    const norm = () => Math.hypot(...sum);
    for (const row of [0, 1, 2, 3, 4]) {
      const args = [
        layout,
        weights,
        Float64Array.from(data.features),
        data.labels,
        COLS,
        Int32Array.of(row),
      ] as const;
      clippedGradientSum(...args, Infinity, work, sum);
      const full = norm();
      expect(full).toBeGreaterThan(1e-3);
      const C = full / 10;
      expect(clippedGradientSum(...args, C, work, sum).clipped).toBe(1);
      expect(norm()).toBeCloseTo(C, 6);
    }
    // A batch of n examples, all clipped: the sum's norm is at most n·C (its sensitivity bound).
    const all = Int32Array.from({ length: 100 }, (_, i) => i);
    const r = clippedGradientSum(
      layout,
      weights,
      Float64Array.from(data.features),
      data.labels,
      COLS,
      all,
      1e-3,
      work,
      sum,
    );
    expect(r.clipped).toBe(100);
    expect(norm()).toBeLessThanOrEqual(100 * 1e-3 * (1 + 1e-9));
    model.dispose();
  });
});

describe('trainLocallyWithDpSgd: fused kernel against the tfjs path', () => {
  const base = {
    epochs: 2,
    batchSize: 128,
    learningRate: 0.01,
    exampleClipNorm: 3,
    noiseMultiplier: 0,
  };
  const cases: Array<[string, ModelSpec, Partial<typeof base> & { optimizer?: 'sgd'; proximalMu?: number }]> =
    [
      ['default recipe: logistic, Adam, batch 128, C = 3', { kind: 'logistic', inputDim: COLS }, {}],
      [
        'mlp [16, 8], SGD, FedProx μ = 0.1, C = 0.5 (clipping active)',
        { kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] },
        { optimizer: 'sgd', learningRate: 0.1, proximalMu: 0.1, exampleClipNorm: 0.5 },
      ],
      [
        'mlp [8], Adam, batch 2 of 600 (some empty batches)',
        { kind: 'mlp', inputDim: COLS, hiddenUnits: [8] },
        { batchSize: 2, epochs: 1 },
      ],
    ];

  it.each(cases)(
    '%s: same weights, losses, steps and ledger event with noise off',
    async (_n, spec, extra) => {
      const tfjsModel = createModel(spec, 9);
      const fusedModel = createModel(spec, 9);
      const sampling = new RecordedRandom('record');
      const noiseRandom = new CryptoRandom();
      const before = tf.memory().numTensors;
      const tfjs = await trainLocallyWithDpSgd(tfjsModel, data, {
        ...base,
        ...extra,
        kernel: 'tfjs',
        random: sampling,
        noiseRandom,
      });
      const fused = await trainLocallyWithDpSgd(fusedModel, data, {
        ...base,
        ...extra,
        random: sampling.replay(),
        noiseRandom,
      });
      expect(tfjs.kernel).toBe('tfjs');
      expect(fused.kernel).toBe('fused');
      expect(tf.memory().numTensors).toBe(before);
      expect(fused.steps).toBe(tfjs.steps);
      expect(fused.examples).toBe(tfjs.examples);
      // The ledger charge is the same: same q, same z, same number of steps.
      expect(fused.privacyEvent).toEqual(tfjs.privacyEvent);
      expect(fused.samplingProbability).toBe(tfjs.samplingProbability);
      expect(maxAbsDiff(fused.epochLosses, tfjs.epochLosses)).toBeLessThan(1e-5);
      const fusedWeights = getFlatWeights(fusedModel);
      const untrained = createModel(spec, 9);
      expect(maxAbsDiff(fusedWeights, getFlatWeights(untrained))).toBeGreaterThan(1e-3); // it trained
      untrained.dispose();
      // Both paths round to float32 at every step in a different order, so the difference grows
      // with the number of Adam steps (about 300 at batch 2 reached 1.2e-5): the bound grows with
      // them, and stays two orders below what training moved the weights by.
      const weightTolerance = 1e-5 * Math.max(1, tfjs.steps / 64);
      expect(maxAbsDiff(fusedWeights, getFlatWeights(tfjsModel))).toBeLessThan(weightTolerance);
      // Same artifact: the same variables and shapes as the tfjs model (names up to tfjs' unique suffix).
      const variables = (m: tf.LayersModel) =>
        m.trainableWeights.map((w) => [w.name.replace(/_\d+$/, ''), w.shape]);
      expect(variables(fusedModel)).toEqual(variables(tfjsModel));
      tfjsModel.dispose();
      fusedModel.dispose();
    },
  );

  it('falls back to tfjs for models the kernel does not cover (dropout, softmax output)', async () => {
    const dropout = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [8], dropout: 0.2 }, 1);
    expect(fusedDenseLayout(dropout)).toEqual({ unsupported: "layer 'dropout_1' is a Dropout" });
    const result = await trainLocallyWithDpSgd(dropout, data, {
      ...base,
      epochs: 1,
      noiseMultiplier: 1,
      random: new CryptoRandom(),
      noiseRandom: new CryptoRandom(),
    });
    expect(result.kernel).toBe('tfjs');
    const softmax = tf.sequential({
      layers: [tf.layers.dense({ units: 2, activation: 'softmax', inputShape: [COLS] })],
    });
    expect(fusedDenseLayout(softmax)).toMatchObject({ unsupported: expect.stringMatching(/sigmoid unit/) });
    const l1 = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 1,
          activation: 'sigmoid',
          inputShape: [COLS],
          kernelRegularizer: tf.regularizers.l1({ l1: 0.1 }),
        }),
      ],
    });
    expect(fusedDenseLayout(l1)).toMatchObject({ unsupported: expect.stringMatching(/other than L2/) });
    for (const m of [dropout, softmax, l1]) m.dispose();
  });
});

describe('trainDenseDpSgdFused noise', () => {
  /** Counts what the kernel asks of the secure source, and passes the CSPRNG's values through. */
  class CountingRandom extends CryptoRandom {
    normals = 0;
    override fillStandardNormal(out: Float32Array | Float64Array): void {
      this.normals += out.length;
      super.fillStandardNormal(out);
    }
  }

  it('adds N(0, (z·C)²) per coordinate from noiseRandom, divided by q·N, fresh on every step', async () => {
    const spec: ModelSpec = { kind: 'mlp', inputDim: COLS, hiddenUnits: [64, 32], l2: 0 };
    const model = createModel(spec, 2);
    const layout = layoutOf(model);
    const start = getFlatWeights(model);
    const noiseRandom = new CountingRandom();
    const [z, C, expectedBatchSize, steps] = [2, 3, 50, 4];
    // Empty Poisson batches: the update is noise alone, so w − w_start = −Σ_t σ·N_t / (q·N) under SGD(lr = 1).
    const result = await trainDenseDpSgdFused(model, layout, data, {
      epochs: 1,
      batchSize: 50,
      learningRate: 1,
      optimizer: 'sgd',
      exampleClipNorm: C,
      noiseMultiplier: z,
      expectedBatchSize,
      schedule: () => Array.from({ length: steps }, () => new Int32Array(0)),
      random: new CryptoRandom(),
      noiseRandom,
    });
    expect(result.steps).toBe(steps);
    expect(noiseRandom.normals).toBe(steps * layout.parameters);
    const moved = getFlatWeights(model).map((w, i) => w - start[i]);
    const n = moved.length; // 3,713 coordinates
    const mean = moved.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(moved.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
    const expectedSd = (Math.sqrt(steps) * z * C) / expectedBatchSize; // 0.24
    expect(Math.abs(mean)).toBeLessThan((5 * expectedSd) / Math.sqrt(n));
    expect(sd / expectedSd).toBeGreaterThan(0.93);
    expect(sd / expectedSd).toBeLessThan(1.07);
    // Gaussian tails, not a uniform or a constant: about 4.6 % beyond 2 sd.
    const tail = moved.filter((v) => Math.abs(v) > 2 * expectedSd).length / n;
    expect(tail).toBeGreaterThan(0.03);
    expect(tail).toBeLessThan(0.065);
    model.dispose();
  });

  it('refuses a noise source that is not secure before training (same guard as the tfjs path)', async () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    const fake = { nextDouble: Math.random, nextUint32: () => 0, fillStandardNormal: () => undefined };
    await expect(
      trainLocallyWithDpSgd(model, data, {
        epochs: 1,
        batchSize: 64,
        learningRate: 0.01,
        exampleClipNorm: 1,
        noiseMultiplier: 1,
        random: new CryptoRandom(),
        noiseRandom: fake as unknown as SecureRandom,
      }),
    ).rejects.toThrow(/SecureRandom/);
    model.dispose();
  });
});
