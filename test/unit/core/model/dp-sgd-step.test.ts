import * as tf from '@tensorflow/tfjs';
import {
  binaryCrossEntropyPerExample,
  clipFactors,
  createModel,
  denseChain,
  dpSgdGradientStep,
  ghostPass,
  initializeBackend,
  weightedGradientSum,
  type ModelSpec,
  type TrainingData,
} from '../../../../src/core/model';
import type { SecureRandom } from '../../../../src/core/random/random';
import { SeededRandom } from '../../../../src/core/random/seeded-random';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';
import { syntheticCohort } from './synthetic-data';

const COLS = 10;
let data: TrainingData;

beforeAll(async () => {
  await initializeBackend('auto');
  data = syntheticCohort(48, COLS, 7);
});

/** tf.tidy for callbacks returning plain arrays (tf.tidy's type allows only tensors). */
function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

function batch(rows: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return {
    x: tf.tensor2d(data.features.subarray(0, rows * COLS), [rows, COLS]),
    y: tf.tensor2d(data.labels.subarray(0, rows), [rows, 1]),
  };
}

/** ∇ℓᵢ one example at a time with tf.variableGrads: the definition the ghost norms must match. */
function bruteForceGradients(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): Float64Array[][] {
  const variables = variablesOf(model);
  const perExample: Float64Array[][] = [];
  for (let i = 0; i < x.shape[0]; i++) {
    perExample.push(
      scoped(() => {
        const xi = x.slice([i, 0], [1, COLS]);
        const yi = y.slice([i, 0], [1, 1]);
        const { grads } = tf.variableGrads(
          () =>
            tf.sum(
              binaryCrossEntropyPerExample(yi, model.apply(xi, { training: true }) as tf.Tensor),
            ) as tf.Scalar,
          variables,
        );
        return variables.map((v) => Float64Array.from(grads[v.name].dataSync()));
      }),
    );
  }
  return perExample;
}

const norm = (parts: Float64Array[]) =>
  Math.sqrt(parts.reduce((s, p) => s + p.reduce((t, v) => t + v * v, 0), 0));

const SPECS: Array<[string, ModelSpec]> = [
  ['mlp [16, 8]', { kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] }],
  ['mlp [5]', { kind: 'mlp', inputDim: COLS, hiddenUnits: [5], l2: 0 }],
  ['logistic', { kind: 'logistic', inputDim: COLS }],
];

describe('ghost norms (‖aᵢ‖·‖δᵢ‖ per Dense layer)', () => {
  it.each(SPECS)('match brute-force per-example gradient norms for %s (relative error < 1e-4)', (_, spec) => {
    const model = createModel(spec, 3);
    const { x, y } = batch(24);
    const brute = bruteForceGradients(model, x, y).map(norm);
    const ghost = scoped(() =>
      Array.from(ghostPass(denseChain(model), x, y, new SeededRandom(1)).norms.dataSync()),
    );
    expect(brute.filter((g) => g > 1e-3).length).toBeGreaterThan(20); // the comparison is not vacuous
    for (let i = 0; i < brute.length; i++)
      expect(Math.abs(ghost[i] - brute[i])).toBeLessThan(1e-4 * brute[i] + 1e-7);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('give the clipped sum Σ min(1, C/gᵢ)∇ℓᵢ of brute-force gradients, with clipping active', () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] }, 4);
    const { x, y } = batch(24);
    const perExample = bruteForceGradients(model, x, y);
    const norms = perExample.map(norm);
    const clipNorm = [...norms].sort((a, b) => a - b)[12]; // the median: half the examples are clipped
    const expected = variablesOf(model).map((_, v) => {
      const sum = new Float64Array(perExample[0][v].length);
      perExample.forEach((g, i) => {
        const c = Math.min(1, clipNorm / norms[i]);
        for (let k = 0; k < sum.length; k++) sum[k] += c * g[v][k];
      });
      return sum;
    });
    const actual = scoped(() => {
      const chain = denseChain(model);
      const pass = ghostPass(chain, x, y, new SeededRandom(1));
      const sums = weightedGradientSum(chain, pass, clipFactors(pass.norms, clipNorm));
      return variablesOf(model).map((v) => Float64Array.from(sums.get(v.name)!.dataSync()));
    });
    expected.forEach((e, v) => {
      const diff = e.map((value, k) => value - actual[v][k]);
      expect(norm([diff])).toBeLessThan(1e-4 * norm([e]) + 1e-7);
    });
    tf.dispose([x, y]);
    model.dispose();
  });

  it('rejects layers whose per-example norms it cannot compute', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [COLS] }),
        tf.layers.batchNormalization(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    expect(() => denseChain(model)).toThrow(/BatchNormalization/);
    model.dispose();
  });
});

describe('dpSgdGradientStep', () => {
  /** Runs one step with plain SGD at learning rate 1 and returns −Δw = the applied gradient. */
  function appliedGradient(
    model: tf.LayersModel,
    step: ReturnType<typeof dpSgdGradientStep>,
    x: tf.Tensor2D,
    y: tf.Tensor2D,
  ): Float64Array[] {
    const variables = variablesOf(model);
    const before = variables.map((v) => Float64Array.from(v.dataSync()));
    const optimizer = tf.train.sgd(1);
    tf.tidy(() => step({ model, optimizer, variables, x, y, random: new SeededRandom(2) }));
    optimizer.dispose();
    return variables.map((v, i) => before[i].map((w, k) => w - v.dataSync()[k]));
  }

  it('with z = 0 and a huge C is the ordinary mean gradient × realised/expected batch, plus the L2 gradient', () => {
    const spec: ModelSpec = { kind: 'mlp', inputDim: COLS, hiddenUnits: [8], l2: 0.05 };
    const model = createModel(spec, 5);
    const { x, y } = batch(20);
    const expectedBatchSize = 32;
    const variables = variablesOf(model);
    const [dataGrad, penaltyGrad] = scoped(() => {
      const data = tf.variableGrads(
        () =>
          tf.mean(
            binaryCrossEntropyPerExample(y, model.apply(x, { training: true }) as tf.Tensor),
          ) as tf.Scalar,
        variables,
      ).grads;
      const penalty = tf.variableGrads(
        () => tf.addN(model.layers.flatMap((l) => l.calculateLosses())) as tf.Scalar,
        variables,
      ).grads;
      return [data, penalty].map((g) =>
        variables.map((v) => Float64Array.from(g[v.name]?.dataSync() ?? new Float32Array(v.size))),
      );
    });
    const step = dpSgdGradientStep({
      exampleClipNorm: 1e9,
      noiseMultiplier: 0,
      expectedBatchSize,
      noiseRandom: new CryptoRandom(),
    });
    const applied = appliedGradient(model, step, x, y);
    applied.forEach((g, v) => {
      const expected = dataGrad[v].map((d, k) => (d * 20) / expectedBatchSize + penaltyGrad[v][k]);
      const diff = expected.map((e, k) => e - g[k]);
      expect(norm([diff])).toBeLessThan(1e-4 * norm([expected]) + 1e-6);
    });
    expect(norm(penaltyGrad)).toBeGreaterThan(1e-3); // the L2 part is really there
    tf.dispose([x, y]);
    model.dispose();
  });

  // The guard that bounds each patient's influence: with norms above C the applied gradient must be
  // the brute-force clipped sum ÷ q·N. Removing the clip (or clipping the mean instead of each
  // example) changes the result by far more than the tolerance.
  it.each(SPECS)(
    'with z = 0 and C below most per-example norms, applies Σ min(1, C/‖∇ℓᵢ‖)∇ℓᵢ ÷ qN for %s',
    (_, spec) => {
      const model = createModel({ ...spec, l2: 0 }, 8);
      const { x, y } = batch(24);
      const perExample = bruteForceGradients(model, x, y);
      const norms = perExample.map(norm);
      const clipNorm = [...norms].sort((a, b) => a - b)[5]; // 18 of 24 examples exceed C
      expect(norms.filter((g) => g > clipNorm * 1.05).length).toBeGreaterThanOrEqual(15);
      const expectedBatchSize = 30;
      const expected = variablesOf(model).map((v, k) => {
        const sum = new Float64Array(v.size);
        perExample.forEach((g, i) => {
          const c = Math.min(1, clipNorm / norms[i]);
          for (let j = 0; j < sum.length; j++) sum[j] += (c * g[k][j]) / expectedBatchSize;
        });
        return sum;
      });
      const unclipped = variablesOf(model).map((v, k) => {
        const sum = new Float64Array(v.size);
        perExample.forEach((g) => g[k].forEach((value, j) => (sum[j] += value / expectedBatchSize)));
        return sum;
      });
      const step = dpSgdGradientStep({
        exampleClipNorm: clipNorm,
        noiseMultiplier: 0,
        expectedBatchSize,
        noiseRandom: new CryptoRandom(),
      });
      const applied = appliedGradient(model, step, x, y);
      const distance = (a: Float64Array[], b: Float64Array[]) =>
        norm(a.map((part, k) => part.map((value, j) => value - b[k][j])));
      expect(distance(applied, expected)).toBeLessThan(1e-4 * norm(expected) + 1e-7);
      // The clip really bites: without it the gradient would be far away.
      expect(distance(unclipped, expected)).toBeGreaterThan(0.2 * norm(expected));
      // Each example contributes at most C / qN: the applied norm is bounded by 24·C/30.
      expect(norm(applied)).toBeLessThanOrEqual((24 * clipNorm) / expectedBatchSize + 1e-6);
      tf.dispose([x, y]);
      model.dispose();
    },
  );

  it('adds N(0, (z·C)²) per coordinate from the secure source, divided by the expected batch (empty batch: noise only)', () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [64, 32], l2: 0 }, 6);
    const step = dpSgdGradientStep({
      exampleClipNorm: 1.5,
      noiseMultiplier: 2,
      expectedBatchSize: 10,
      noiseRandom: new CryptoRandom(),
    });
    const x = tf.zeros([0, COLS]) as tf.Tensor2D;
    const y = tf.zeros([0, 1]) as tf.Tensor2D;
    const applied = appliedGradient(model, step, x, y).flatMap((g) => Array.from(g));
    const mean = applied.reduce((s, v) => s + v, 0) / applied.length;
    const std = Math.sqrt(applied.reduce((s, v) => s + (v - mean) ** 2, 0) / applied.length);
    // 2817 coordinates: the sample std is within ±4 % of (z·C)/(qN) = 0.3 with overwhelming probability.
    expect(applied.length).toBeGreaterThan(2500);
    expect(std).toBeGreaterThan(0.3 * 0.96);
    expect(std).toBeLessThan(0.3 * 1.04);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('draws its noise from noiseRandom.fillStandardNormal and refuses a non-secure generator', () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS, l2: 0 }, 7);
    let drawn = 0;
    const ones: SecureRandom = {
      secure: true,
      nextDouble: () => 0.5,
      nextUint32: () => 1,
      fillStandardNormal: (out) => {
        drawn += out.length;
        out.fill(1);
      },
    };
    const step = dpSgdGradientStep({
      exampleClipNorm: 1,
      noiseMultiplier: 3,
      expectedBatchSize: 4,
      noiseRandom: ones,
    });
    const x = tf.zeros([0, COLS]) as tf.Tensor2D;
    const y = tf.zeros([0, 1]) as tf.Tensor2D;
    const applied = appliedGradient(model, step, x, y).flatMap((g) => Array.from(g));
    expect(drawn).toBe(COLS + 1);
    for (const g of applied) expect(g).toBeCloseTo(3 / 4, 6);
    expect(() =>
      dpSgdGradientStep({
        exampleClipNorm: 1,
        noiseMultiplier: 1,
        expectedBatchSize: 4,
        noiseRandom: new SeededRandom(1) as unknown as SecureRandom,
      }),
    ).toThrow(/SecureRandom/);
    expect(() =>
      dpSgdGradientStep({ exampleClipNorm: 0, noiseMultiplier: 1, expectedBatchSize: 4, noiseRandom: ones }),
    ).toThrow(/exampleClipNorm/);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('refuses every option that would break the guarantee, naming it and the value', () => {
    const secure = new CryptoRandom();
    const valid = { exampleClipNorm: 1, noiseMultiplier: 1, expectedBatchSize: 4, noiseRandom: secure };
    const cases: Array<[Partial<typeof valid>, RegExp]> = [
      [{ exampleClipNorm: Infinity }, /exampleClipNorm must be finite and > 0, got Infinity/],
      [{ exampleClipNorm: -1 }, /exampleClipNorm must be finite and > 0, got -1/],
      [{ noiseMultiplier: -0.5 }, /noiseMultiplier must be finite and ≥ 0, got -0.5/],
      [{ noiseMultiplier: Infinity }, /noiseMultiplier must be finite and ≥ 0, got Infinity/],
      [{ expectedBatchSize: 0 }, /expectedBatchSize must be finite and > 0, got 0/],
      [{ expectedBatchSize: -3 }, /expectedBatchSize must be finite and > 0, got -3/],
      [{ expectedBatchSize: Infinity }, /expectedBatchSize must be finite and > 0, got Infinity/],
      [{ expectedBatchSize: NaN }, /expectedBatchSize must be finite and > 0, got NaN/],
    ];
    for (const [bad, message] of cases)
      expect(() => dpSgdGradientStep({ ...valid, ...bad })).toThrow(message);
    expect(() => dpSgdGradientStep(valid)).not.toThrow();
  });

  it('releases noise, not nothing, for an empty Poisson batch, and never calls the data pass', () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS, l2: 0 }, 3);
    const before = variablesOf(model).flatMap((v) => Array.from(v.dataSync()));
    const step = dpSgdGradientStep({
      exampleClipNorm: 1,
      noiseMultiplier: 0,
      expectedBatchSize: 4,
      noiseRandom: new CryptoRandom(),
    });
    const x = tf.zeros([0, COLS]) as tf.Tensor2D;
    const y = tf.zeros([0, 1]) as tf.Tensor2D;
    // z = 0 and no rows: a zero gradient, so the weights do not move, and the logged loss is 0
    // (not the NaN of a mean over no examples).
    const optimizer = tf.train.sgd(1);
    const loss = tf.tidy(() => {
      const l = step({ model, optimizer, variables: variablesOf(model), x, y, random: new SeededRandom(2) });
      return l.dataSync()[0];
    });
    optimizer.dispose();
    expect(loss).toBe(0);
    const after = variablesOf(model).flatMap((v) => Array.from(v.dataSync()));
    expect(after).toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });
});
