import * as tf from '@tensorflow/tfjs';
import { auroc } from '../../../../src/core/metrics';
import {
  createModel,
  initializeBackend,
  poissonBatches,
  poissonSample,
  predictProbabilities,
  trainLocallyWithDpSgd,
  type TrainingData,
} from '../../../../src/core/model';
import { computeEpsilon, planPatientLevelDp, type DpEvent } from '../../../../src/core/privacy';
import { SeededRandom } from '../../../../src/core/random/seeded-random';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';
import { syntheticCohort } from './synthetic-data';

const COLS = 12;
let train: TrainingData;
let test: TrainingData;

beforeAll(async () => {
  await initializeBackend('auto');
  train = syntheticCohort(1000, COLS, 11, 'train');
  test = syntheticCohort(500, COLS, 11, 'test');
});

describe('poissonBatches', () => {
  it('takes round(N/B) steps per epoch, each row independently with rate q = B/N', () => {
    const rows = 1000;
    const batchSize = 50;
    const random = new SeededRandom(3);
    const counts = new Float64Array(rows);
    const sizes: number[] = [];
    const epochs = 100;
    let malformed = 0;
    for (let e = 0; e < epochs; e++) {
      const batches = poissonBatches(rows, batchSize, random);
      expect(batches).toHaveLength(20);
      for (const b of batches) {
        sizes.push(b.length);
        for (let k = 0; k < b.length; k++) {
          // In range, sorted, no duplicates (checked without an expect per row: 100 000 rows).
          if (b[k] < 0 || b[k] >= rows || (k > 0 && b[k] <= b[k - 1])) malformed++;
          counts[b[k]]++;
        }
      }
    }
    expect(malformed).toBe(0);
    const steps = sizes.length;
    const q = batchSize / rows;
    const mean = sizes.reduce((s, n) => s + n, 0) / steps;
    const variance = sizes.reduce((s, n) => s + (n - mean) ** 2, 0) / (steps - 1);
    // Binomial(N, q): mean 50, variance N·q·(1−q) = 47.5 (a fixed-size batch would have variance 0).
    expect(Math.abs(mean - 50)).toBeLessThan(4 * Math.sqrt(47.5 / steps));
    expect(variance).toBeGreaterThan(47.5 * 0.85);
    expect(variance).toBeLessThan(47.5 * 1.15);
    // Every row has the same inclusion rate: first and last tenth of the rows alike.
    const rate = (from: number, to: number) =>
      counts.slice(from, to).reduce((s, c) => s + c, 0) / ((to - from) * steps);
    expect(Math.abs(rate(0, 100) - q)).toBeLessThan(0.004);
    expect(Math.abs(rate(900, 1000) - q)).toBeLessThan(0.004);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[rows - 1]).toBeGreaterThan(0);
  });

  it('includes every row when the batch is at least N, and nothing at q = 0', () => {
    const batches = poissonBatches(30, 64, new SeededRandom(1));
    expect(batches).toHaveLength(1);
    expect(Array.from(batches[0])).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(poissonSample(30, 0, new SeededRandom(1))).toHaveLength(0);
    expect(() => poissonSample(30, 1.5, new SeededRandom(1))).toThrow(RangeError);
  });

  it('is reproducible from the seed', () => {
    const a = poissonBatches(500, 32, new SeededRandom(9)).map((b) => Array.from(b));
    const b = poissonBatches(500, 32, new SeededRandom(9)).map((x) => Array.from(x));
    expect(a).toEqual(b);
  });
});

describe('trainLocallyWithDpSgd', () => {
  it('learns under moderate noise, leaks no tensors, and returns the event it spent', async () => {
    const model = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] }, 1);
    const before = tf.memory().numTensors;
    const plan = planPatientLevelDp({
      targetEpsilon: 8,
      delta: 1e-5,
      datasetSize: 1000,
      batchSize: 50,
      epochsPerRound: 5,
      rounds: 1,
    });
    const result = await trainLocallyWithDpSgd(model, train, {
      epochs: 5,
      batchSize: 50,
      learningRate: 0.01,
      exampleClipNorm: 1,
      noiseMultiplier: plan.noiseMultiplier,
      random: new CryptoRandom(),
      noiseRandom: new CryptoRandom(),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.steps).toBe(5 * 20);
    expect(result.steps).toBe(plan.totalSteps);
    expect(result.samplingProbability).toBe(0.05);
    expect(result.epochLosses).toHaveLength(5);
    expect(result.examples).toBeGreaterThan(5 * 1000 * 0.9);
    expect(result.examples).toBeLessThan(5 * 1000 * 1.1);
    const expectedEvent: DpEvent = {
      kind: 'self-composed',
      event: {
        kind: 'poisson-sampled',
        samplingProbability: 0.05,
        event: { kind: 'gaussian', noiseMultiplier: plan.noiseMultiplier },
      },
      count: 100,
    };
    expect(result.privacyEvent).toEqual(expectedEvent);
    const { epsilon } = computeEpsilon(result.privacyEvent, 1e-5);
    expect(epsilon).toBeLessThanOrEqual(8);
    expect(epsilon).toBeGreaterThan(7.9);
    const probs = predictProbabilities(model, test.features, test.rows, test.cols);
    expect(auroc(test.labels, probs)).toBeGreaterThan(0.85);
    model.dispose();
  });

  it('counts empty Poisson batches as steps and still trains through them', async () => {
    const small = syntheticCohort(40, COLS, 5);
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 2);
    const result = await trainLocallyWithDpSgd(model, small, {
      epochs: 3,
      batchSize: 1, // q = 1/40, 40 steps per epoch: about a third of the batches are empty
      learningRate: 0.01,
      exampleClipNorm: 1,
      noiseMultiplier: 1,
      random: new CryptoRandom(),
      noiseRandom: new CryptoRandom(),
    });
    // (39/40)^40 ≈ 36 % of the 120 batches are empty; every one is still a step. The sample is
    // secret (CSPRNG), so the number of examples drawn varies around its mean of 120.
    expect(result.steps).toBe(120);
    expect(result.examples).toBeGreaterThan(60);
    expect(result.examples).toBeLessThan(200);
    expect(result.privacyEvent).toMatchObject({ kind: 'self-composed', count: 120 });
    model.dispose();
  });

  it('rejects bad options before training', async () => {
    const model = createModel({ kind: 'logistic', inputDim: COLS }, 2);
    const options = {
      epochs: 1,
      batchSize: 10,
      learningRate: 0.01,
      exampleClipNorm: 1,
      noiseMultiplier: 1,
      random: new CryptoRandom(),
      noiseRandom: new CryptoRandom(),
    };
    await expect(trainLocallyWithDpSgd(model, train, { ...options, noiseMultiplier: -1 })).rejects.toThrow(
      /noiseMultiplier/,
    );
    // Attack (privacy issue, finding 1): a seeded sampler lets anyone with the run's seed rebuild
    // every Poisson batch, which voids the amplification by subsampling; it is refused.
    await expect(
      trainLocallyWithDpSgd(model, train, {
        ...options,
        random: new SeededRandom(42) as unknown as CryptoRandom,
      }),
    ).rejects.toThrow(/sampling needs a SecureRandom/);
    await expect(trainLocallyWithDpSgd(model, train, { ...options, batchSize: 0 })).rejects.toThrow(
      /batchSize/,
    );
    model.dispose();
  });
});
