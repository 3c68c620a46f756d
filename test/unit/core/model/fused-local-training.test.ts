import * as tf from '@tensorflow/tfjs';
import {
  createModel,
  getFlatWeights,
  initializeBackend,
  trainLocally,
  type LocalTrainingOptions,
  type ModelSpec,
  type TrainingData,
} from '../../../../src/core/model';
import { SeededRandom } from '../../../../src/core/random/seeded-random';
import { syntheticCohort } from './synthetic-data';

// The reference preprocessor's width (the bench's tiny hospital jobs train on it).
const COLS = 24;
let data: TrainingData;

beforeAll(async () => {
  await initializeBackend('auto');
  data = syntheticCohort(600, COLS, 21);
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

type Case = [string, ModelSpec, Partial<LocalTrainingOptions>];

describe('trainLocally: fused dense kernel against the tfjs path', () => {
  const base = { epochs: 2, batchSize: 64, learningRate: 0.01 };
  const cases: Case[] = [
    // The bench round's hospital job: MLP 24→4→1, one epoch, batch 64, Adam.
    ['mlp [4], Adam, batch 64 (the bench round)', { kind: 'mlp', inputDim: COLS, hiddenUnits: [4] }, {}],
    ['logistic, Adam, a short last batch (600 = 9·64 + 24)', { kind: 'logistic', inputDim: COLS }, {}],
    [
      'mlp [16, 8], SGD, FedProx μ = 0.1',
      { kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] },
      { optimizer: 'sgd', learningRate: 0.1, proximalMu: 0.1 },
    ],
    [
      'mlp [8], no L2, Adam, batch 7, 3 epochs',
      { kind: 'mlp', inputDim: COLS, hiddenUnits: [8], l2: 0 },
      { batchSize: 7, epochs: 3 },
    ],
  ];

  it.each(cases)('%s: same weights, losses and steps', async (_name, spec, extra) => {
    const tfjsModel = createModel(spec, 9);
    const fusedModel = createModel(spec, 9);
    const before = tf.memory().numTensors;
    const options = { ...base, ...extra };
    const tfjs = await trainLocally(tfjsModel, data, {
      ...options,
      kernel: 'tfjs',
      random: new SeededRandom(4),
    });
    const fused = await trainLocally(fusedModel, data, { ...options, random: new SeededRandom(4) });
    expect(tfjs.kernel).toBe('tfjs');
    expect(fused.kernel).toBe('fused');
    expect(tf.memory().numTensors).toBe(before);
    expect(fused.steps).toBe(tfjs.steps);
    expect(fused.examples).toBe(tfjs.examples);
    expect(maxAbsDiff(fused.epochLosses, tfjs.epochLosses)).toBeLessThan(1e-5);
    const fusedWeights = getFlatWeights(fusedModel);
    const untrained = createModel(spec, 9);
    expect(maxAbsDiff(fusedWeights, getFlatWeights(untrained))).toBeGreaterThan(1e-3); // it trained
    untrained.dispose();
    // float32 rounding in a different order drifts with the number of optimizer steps.
    const weightTolerance = 1e-5 * Math.max(1, tfjs.steps / 64);
    expect(maxAbsDiff(fusedWeights, getFlatWeights(tfjsModel))).toBeLessThan(weightTolerance);
    // The artifact is the same tfjs model: the same variables and shapes.
    const variables = (m: tf.LayersModel) =>
      m.trainableWeights.map((w) => [w.name.replace(/_\d+$/, ''), w.shape]);
    expect(variables(fusedModel)).toEqual(variables(tfjsModel));
    tfjsModel.dispose();
    fusedModel.dispose();
  });

  it('draws the same shuffles from the seed as the tfjs path (the same batches, in the same order)', async () => {
    const spec: ModelSpec = { kind: 'logistic', inputDim: COLS };
    const a = createModel(spec, 1);
    const b = createModel(spec, 1);
    // One step of SGD on one batch of the first shuffle: a different shuffle would move other rows' gradients.
    const options = { epochs: 1, batchSize: 599, learningRate: 1, optimizer: 'sgd' as const };
    await trainLocally(a, data, { ...options, kernel: 'tfjs', random: new SeededRandom(8) });
    await trainLocally(b, data, { ...options, random: new SeededRandom(8) });
    const c = createModel(spec, 1);
    await trainLocally(c, data, { ...options, random: new SeededRandom(9) });
    expect(maxAbsDiff(getFlatWeights(a), getFlatWeights(b))).toBeLessThan(1e-5);
    expect(maxAbsDiff(getFlatWeights(a), getFlatWeights(c))).toBeGreaterThan(1e-4);
    for (const m of [a, b, c]) m.dispose();
  });

  it('trains a model with dropout on the tfjs path (its masks come from tf.dropout)', async () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [8], dropout: 0.2 }, 1);
    const result = await trainLocally(model, data, { ...base, epochs: 1, random: new SeededRandom(1) });
    expect(result.kernel).toBe('tfjs');
    model.dispose();
  });

  it('refuses an unknown kernel', async () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    await expect(
      trainLocally(model, data, {
        ...base,
        random: new SeededRandom(1),
        kernel: 'wasm' as unknown as 'auto',
      }),
    ).rejects.toThrow(/kernel must be 'auto' or 'tfjs'/);
    model.dispose();
  });
});
