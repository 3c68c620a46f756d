import * as tf from '@tensorflow/tfjs';
import { loadTrainingConfig } from '../../../../src/config/training-config-loader';
import { evaluateBinary } from '../../../../src/core/metrics';
import {
  createModel,
  getFlatWeights,
  initializeBackend,
  interceptIndex,
  predictProbabilities,
  setFlatWeights,
  siteUpdate,
  trainLocallyWithDpSgd,
  withSiteIntercept,
  type TrainingData,
} from '../../../../src/core/model';
import { PUBLIC_MORTALITY_PRIOR } from '../../../../src/core/model/model-factory';
import { simulateFederatedRounds } from '../../../../src/local/federated-simulation';
import { SeededRandom, standardNormal } from '../../../../src/core/random/seeded-random';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';
import { syntheticCohort } from './synthetic-data';

jest.setTimeout(60_000);

const COLS = 6;

beforeAll(async () => {
  await initializeBackend('auto');
});

/**
 * A site's rows: standard-normal features, death when their mean direction plus a little noise
 * exceeds `threshold` — the same risk model everywhere, a different base rate per threshold.
 */
function site(rows: number, threshold: number, seed: number): TrainingData {
  const random = new SeededRandom(seed);
  const features = new Float32Array(rows * COLS);
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let score = 0;
    for (let c = 0; c < COLS; c++) {
      const v = standardNormal(random);
      features[r * COLS + c] = v;
      score += v / Math.sqrt(COLS);
    }
    labels[r] = score + 0.5 * standardNormal(random) > threshold ? 1 : 0;
  }
  return { features, labels, rows, cols: COLS };
}

function observedExpected(model: tf.LayersModel, data: TrainingData): number {
  const p = predictProbabilities(model, data.features, data.rows, data.cols);
  return evaluateBinary(data.labels, p).observedExpectedRatio!;
}

describe('interceptIndex', () => {
  it("is the output unit's bias: the last parameter of a logistic and of an MLP model", () => {
    const logistic = createModel({ kind: 'logistic', inputDim: COLS }, 1);
    const mlp = createModel({ kind: 'mlp', inputDim: COLS, hiddenUnits: [4] }, 1);
    expect(interceptIndex(logistic)).toBe(COLS);
    expect(interceptIndex(mlp)).toBe(COLS * 4 + 4 + 4);
    const prior = Math.log(PUBLIC_MORTALITY_PRIOR / (1 - PUBLIC_MORTALITY_PRIOR));
    expect(getFlatWeights(mlp)[interceptIndex(mlp)]).toBeCloseTo(prior, 6);
    logistic.dispose();
    mlp.dispose();
  });

  it('refuses a model whose output has no bias', () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 1, inputShape: [COLS], useBias: false, activation: 'sigmoid' })],
    });
    expect(() => interceptIndex(model)).toThrow(/one-unit Dense output/);
    const wide = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [COLS] })] });
    expect(() => interceptIndex(wide)).toThrow(/one-unit Dense output/);
    model.dispose();
    wide.dispose();
  });
});

describe('withSiteIntercept and siteUpdate', () => {
  it('put the site value in place, and validate it', () => {
    const global = Float32Array.from([1, 2, 3]);
    expect(Array.from(withSiteIntercept(global, 2, -1.5))).toEqual([1, 2, -1.5]);
    expect(Array.from(withSiteIntercept(global, 2, null))).toEqual([1, 2, 3]);
    expect(Array.from(global)).toEqual([1, 2, 3]);
    expect(() => withSiteIntercept(global, 3, 0)).toThrow(/outside a vector of 3/);
    expect(() => withSiteIntercept(global, 2, Number.NaN)).toThrow(/must be finite/);
    expect(() => siteUpdate(Float32Array.from([1, 2]), global, 1)).toThrow(/local has 2 weights/);
  });

  it('send, given the start, the change of the own intercept at its coordinate (else 0)', () => {
    const global = Float32Array.from([1, 2, 0.5]);
    const local = Float32Array.from([1.25, 1.5, -2]);
    // The hospital started from its own −1.5: the change it sends is −2 − (−1.5) = −0.5, not −2 − 0.5.
    const shared = siteUpdate(local, global, 2, -1.5);
    expect(Array.from(shared.delta)).toEqual([0.25, -0.5, -0.5]);
    expect(shared.intercept).toBe(-2);
    expect(Array.from(siteUpdate(local, global, 2).delta)).toEqual([0.25, -0.5, 0]);
    expect(() => siteUpdate(local, global, 2, Number.POSITIVE_INFINITY)).toThrow(
      /start intercept must be finite/,
    );
  });

  it.each([
    ['logistic', 'auto'],
    ['logistic', 'tfjs'],
    ['mlp', 'tfjs'],
  ] as const)(
    'never puts the intercept in the update DP-SGD produces, and keeps it for the site (%s, %s kernel)',
    async (kind, kernel) => {
      const model = createModel({ kind, inputDim: COLS, hiddenUnits: kind === 'mlp' ? [4] : undefined }, 2);
      const index = interceptIndex(model);
      const global = getFlatWeights(model);
      // 50 % deaths against the 11.7 % prior: training moves the bias a long way.
      const train = syntheticCohort(1500, COLS, 5);
      const result = await trainLocallyWithDpSgd(model, train, {
        epochs: 3,
        batchSize: 100,
        learningRate: 0.05,
        exampleClipNorm: 3,
        noiseMultiplier: 0.5,
        random: new CryptoRandom(),
        noiseRandom: new CryptoRandom(),
        kernel,
      });
      expect(result.kernel).toBe(kernel === 'auto' ? 'fused' : 'tfjs');
      const local = getFlatWeights(model);
      expect(Math.abs(local[index] - global[index])).toBeGreaterThan(0.1);
      const { delta, intercept } = siteUpdate(local, global, index);
      expect(Object.is(delta[index], 0)).toBe(true);
      expect(intercept).toBe(local[index]);
      for (let i = 0; i < index; i++) expect(delta[i]).toBeCloseTo(local[i] - global[i], 6);
      model.dispose();
    },
  );
});

describe('site intercepts in a federated run', () => {
  it('leave the aggregated intercept untouched and calibrate a site whose base rate differs', async () => {
    const sites = [
      { train: site(2000, 0, 7), test: site(1500, 0, 8) },
      { train: site(2000, 1.6, 9), test: site(1500, 1.6, 10) },
    ];
    const rates = sites.map((s) => s.test.labels.reduce((a, b) => a + b, 0) / s.test.rows);
    // A deliberately miscalibrated pair: one intercept cannot fit both base rates.
    expect(rates[0]).toBeGreaterThan(0.4);
    expect(rates[1]).toBeLessThan(0.15);
    const config = loadTrainingConfig({
      base: {
        preset: 'archetypes',
        hospitals: 2,
        rounds: 4,
        seed: 3,
        model: 'logistic',
        secureAggregation: false,
      },
      env: {},
    });

    async function run(own: boolean) {
      const model = createModel({ kind: 'logistic', inputDim: COLS }, 3);
      const index = interceptIndex(model);
      const start = getFlatWeights(model)[index];
      const intercepts: Array<number | null> = [null, null];
      const seenIntercepts: number[] = [];
      await simulateFederatedRounds({
        config,
        model,
        hospitals: [
          { hospitalId: 'a', declaredRows: 2000 },
          { hospitalId: 'b', declaredRows: 2000 },
        ],
        trainLocal: async (i) => {
          const global = getFlatWeights(model);
          seenIntercepts.push(global[index]);
          if (own) setFlatWeights(model, withSiteIntercept(global, index, intercepts[i]));
          await trainLocallyWithDpSgd(model, sites[i].train, {
            epochs: 2,
            batchSize: 100,
            learningRate: 0.05,
            exampleClipNorm: 3,
            noiseMultiplier: 0.5,
            random: new CryptoRandom(),
            noiseRandom: new CryptoRandom(),
          });
          if (own) {
            const { delta, intercept } = siteUpdate(getFlatWeights(model), global, index);
            intercepts[i] = intercept;
            setFlatWeights(
              model,
              global.map((w, j) => w + delta[j]),
            );
          }
        },
      });
      const global = getFlatWeights(model);
      const oe = sites.map((s, i) => {
        setFlatWeights(model, withSiteIntercept(global, index, own ? intercepts[i] : null));
        return observedExpected(model, s.test);
      });
      model.dispose();
      return { oe, start, seenIntercepts, final: global[index] };
    }

    const shared = await run(false);
    const kept = await run(true);
    // With site intercepts no update carried the intercept: every round began from the prior.
    expect(kept.seenIntercepts.every((v) => v === kept.start)).toBe(true);
    expect(kept.final).toBe(kept.start);
    // Without them the shared intercept moved, and left both sites miscalibrated.
    expect(shared.final).not.toBe(shared.start);
    const worst = (oe: number[]) => Math.max(...oe.map((v) => Math.abs(Math.log(v))));
    expect(worst(shared.oe)).toBeGreaterThan(0.3);
    expect(worst(kept.oe)).toBeLessThan(worst(shared.oe) / 2);
  });
});
