import * as tf from '@tensorflow/tfjs';
import { auroc } from '../../../../src/core/metrics';
import {
  binaryCrossEntropy,
  createModel,
  forwardForTraining,
  getFlatWeights,
  initializeBackend,
  predictProbabilities,
  runTrainingLoop,
  trainLocally,
  trainLocallyWithDpSgd,
  type BatchSchedule,
  type GradientStep,
  type TrainingData,
} from '../../../../src/core/model';
import { SeededRandom } from '../../../../src/core/random/seeded-random';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';
import { syntheticCohort } from './synthetic-data';

const COLS = 12;
let train: TrainingData;
let test: TrainingData;

beforeAll(async () => {
  await initializeBackend('auto');
  train = syntheticCohort(800, COLS, 2024, 'train');
  test = syntheticCohort(400, COLS, 2024, 'test');
});

async function trainWithSeeds(modelSeed: number, shuffleSeed: number, dropout = 0) {
  const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8], dropout }, modelSeed);
  const result = await trainLocally(model, train, {
    epochs: 3,
    batchSize: 64,
    learningRate: 0.01,
    random: new SeededRandom(shuffleSeed),
  });
  const weights = getFlatWeights(model);
  model.dispose();
  return { result, weights };
}

describe('trainLocally', () => {
  it('reduces the loss and separates a nearly linearly separable cohort (AUROC > 0.9)', async () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] }, 1);
    const lossBefore = binaryCrossEntropy(model, train);
    const onEpoch = jest.fn();
    const result = await trainLocally(model, train, {
      epochs: 8,
      batchSize: 64,
      learningRate: 0.01,
      random: new SeededRandom(1),
      onEpoch,
    });
    expect(result.steps).toBe(8 * Math.ceil(800 / 64));
    expect(result.examples).toBe(8 * 800);
    expect(result.epochLosses).toHaveLength(8);
    expect(onEpoch).toHaveBeenCalledTimes(8);
    expect(onEpoch).toHaveBeenLastCalledWith(7, result.epochLosses[7]);
    expect(result.epochLosses[7]).toBeLessThan(result.epochLosses[0]);
    expect(binaryCrossEntropy(model, train)).toBeLessThan(lossBefore * 0.6);
    const probs = predictProbabilities(model, test.features, test.rows, test.cols);
    expect(auroc(test.labels, probs)).toBeGreaterThan(0.9);
    model.dispose();
  });

  it('trains the logistic model with plain SGD too', async () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    const result = await trainLocally(model, train, {
      epochs: 5,
      batchSize: 32,
      learningRate: 0.1,
      optimizer: 'sgd',
      random: new SeededRandom(5),
    });
    expect(result.epochLosses[4]).toBeLessThan(result.epochLosses[0]);
    expect(
      auroc(test.labels, predictProbabilities(model, test.features, test.rows, test.cols)),
    ).toBeGreaterThan(0.9);
    model.dispose();
  });

  it('is deterministic: the same seeds give bit-identical weights', async () => {
    const a = await trainWithSeeds(3, 4);
    const b = await trainWithSeeds(3, 4);
    expect(b.weights).toEqual(a.weights);
    expect(b.result.epochLosses).toEqual(a.result.epochLosses);
    const otherShuffle = await trainWithSeeds(3, 5);
    expect(otherShuffle.weights).not.toEqual(a.weights);
  });

  it('is deterministic with dropout, whose masks come from the given Random', async () => {
    const a = await trainWithSeeds(3, 4, 0.3);
    const b = await trainWithSeeds(3, 4, 0.3);
    expect(b.weights).toEqual(a.weights);
  });

  it('draws a fresh dropout mask at every training forward pass', () => {
    const model = createModel({ kind: 'mlp', inputDim: 4, hiddenUnits: [32], dropout: 0.5 }, 1);
    const random = new SeededRandom(9);
    const x = tf.ones([2, 4]);
    const first = tf.tidy(() => forwardForTraining(model, x, random).dataSync());
    const second = tf.tidy(() => forwardForTraining(model, x, random).dataSync());
    expect(second).not.toEqual(first);
    x.dispose();
    model.dispose();
  });

  it('applies the L2 penalty of the layers', async () => {
    const norm = async (l2: number) => {
      const model = createModel({ kind: 'logistic', inputDim: COLS, l2 }, 1);
      await trainLocally(model, train, {
        epochs: 3,
        batchSize: 64,
        learningRate: 0.05,
        random: new SeededRandom(1),
      });
      const w = getFlatWeights(model);
      model.dispose();
      return Math.hypot(...w);
    };
    expect(await norm(0.5)).toBeLessThan(0.5 * (await norm(0)));
  });

  it('runs a plugged-in gradient step and batch schedule (the DP-SGD extension point)', async () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    const before = getFlatWeights(model);
    const batchSizes: number[] = [];
    const recordOnly: GradientStep = ({ x }) => {
      batchSizes.push(x.shape[0]);
      return tf.scalar(0.5);
    };
    const twoBatches: BatchSchedule = () => [Int32Array.of(0, 1, 2), Int32Array.of(3), new Int32Array(0)];
    const result = await runTrainingLoop(
      model,
      train,
      { epochs: 2, batchSize: 3, learningRate: 0.1, random: new SeededRandom(1) },
      recordOnly,
      twoBatches,
    );
    expect(batchSizes).toEqual([3, 1, 3, 1]);
    expect(result).toEqual({ epochLosses: [0.5, 0.5], steps: 4, examples: 8 });
    expect(getFlatWeights(model)).toEqual(before);
    model.dispose();
  });

  it("FedProx: the proximal term keeps the local model nearer the round's start, more so with larger μ", async () => {
    const distanceFromStart = async (proximalMu: number, dpSgd = false) => {
      const model = createModel({ kind: 'logistic', inputDim: COLS }, 3);
      const start = getFlatWeights(model);
      const options = {
        epochs: 3,
        batchSize: 64,
        learningRate: 0.05,
        random: new SeededRandom(3),
        proximalMu,
      };
      if (dpSgd)
        await trainLocallyWithDpSgd(model, train, {
          ...options,
          exampleClipNorm: 1,
          noiseMultiplier: 0.5,
          random: new CryptoRandom(),
          noiseRandom: new CryptoRandom(),
        });
      else await trainLocally(model, train, options);
      const end = getFlatWeights(model);
      model.dispose();
      return Math.hypot(...end.map((w, i) => w - start[i]));
    };
    const free = await distanceFromStart(0);
    const held = await distanceFromStart(1);
    const tight = await distanceFromStart(10);
    expect(held).toBeLessThan(free * 0.9);
    expect(tight).toBeLessThan(held);
    // Under DP-SGD the proximal term is added after the noise (data-independent), and still pulls.
    expect(await distanceFromStart(10, true)).toBeLessThan(await distanceFromStart(0, true));
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    await expect(
      trainLocally(model, train, {
        epochs: 1,
        batchSize: 8,
        learningRate: 0.1,
        random: new SeededRandom(1),
        proximalMu: -1,
      }),
    ).rejects.toThrow(/proximalMu must be finite and >= 0, got -1/);
    model.dispose();
  });

  it('leaks no tensors across calls (optimizer slots included)', async () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [8], dropout: 0.2 }, 1);
    const options = { epochs: 1, batchSize: 100, learningRate: 0.01, random: new SeededRandom(1) };
    await trainLocally(model, train, options);
    const before = tf.memory().numTensors;
    await trainLocally(model, train, options);
    await trainLocally(model, train, { ...options, optimizer: 'sgd' });
    await trainLocally(model, train, { ...options, proximalMu: 0.5 });
    predictProbabilities(model, test.features, test.rows, test.cols, 64);
    binaryCrossEntropy(model, test);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('rejects bad options and data that do not fit the model, with clear reasons', async () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    const random = new SeededRandom(1);
    const base = { epochs: 1, batchSize: 8, learningRate: 0.1, random };
    await expect(trainLocally(model, train, { ...base, batchSize: 0 })).rejects.toThrow(/batchSize must be/);
    await expect(trainLocally(model, train, { ...base, learningRate: NaN })).rejects.toThrow(/learningRate/);
    const narrow = syntheticCohort(10, COLS - 1, 1);
    await expect(trainLocally(model, narrow, base)).rejects.toThrow(
      /expects input shape \[null, 12\] but the data has 11 columns/,
    );
    const badLabels = { ...train, labels: train.labels.map((y, i) => (i === 3 ? 0.5 : y)) };
    await expect(trainLocally(model, badLabels, base)).rejects.toThrow(/label of row 3 is 0.5/);
    const badRows = { ...train, rows: train.rows + 1 };
    await expect(trainLocally(model, badRows, base)).rejects.toThrow(/features hold/);
    model.dispose();
  });
});
