import * as tf from '@tensorflow/tfjs';
import {
  fitPreprocessor,
  generateCohort,
  transformRecords,
  type DesignMatrix,
  type PresetName,
} from '../../src/core/data';
import { fedAvg } from '../../src/core/federated';
import { auroc } from '../../src/core/metrics';
import {
  createModel,
  getFlatWeights,
  predictProbabilities,
  setFlatWeights,
  trainLocally,
  type TrainingData,
} from '../../src/core/model';
import { SeededRandom } from '../../src/core/random/seeded-random';
import { meanInterval95, type MeanInterval } from '../statistics';

/** The training settings of `himas train`'s defaults, so the comparison is with what users get. */
export interface QualitySettings {
  preset: PresetName;
  seeds: number[];
  rounds: number;
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  hiddenUnits: number[];
}

export const QUICK_QUALITY: QualitySettings = {
  preset: 'archetypes',
  seeds: [1, 2, 3],
  rounds: 5,
  localEpochs: 2,
  batchSize: 64,
  learningRate: 0.003,
  hiddenUnits: [64, 32],
};

export type QualityMethod = 'centralized' | 'localOnly' | 'fedavg';

export interface QualityResult {
  settings: QualitySettings;
  hospitals: string[];
  /** Test AUROC on all hospitals' test sets pooled; localOnly is the mean over the hospitals' own models. */
  pooled: Record<QualityMethod, MeanInterval>;
  /** Pooled test AUROC of each hospital's local-only model. */
  pooledLocalOnlyByHospital: Record<string, MeanInterval>;
  /** Test AUROC on each hospital's own test set (localOnly: that hospital's own model). */
  perHospital: Record<string, Record<QualityMethod, MeanInterval>>;
  /** Every seed's value, for anyone who wants another statistic. */
  raw: Array<{
    seed: number;
    pooled: Record<QualityMethod, number>;
    pooledLocalOnly: Record<string, number>;
    perHospital: Record<string, Record<QualityMethod, number>>;
  }>;
}

function toTrainingData(m: DesignMatrix): TrainingData {
  return { features: m.features, labels: m.labels, rows: m.rows, cols: m.cols };
}

function concat(parts: readonly TrainingData[]): TrainingData {
  const cols = parts[0].cols;
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const features = new Float32Array(rows * cols);
  const labels = new Float32Array(rows);
  let r = 0;
  for (const p of parts) {
    features.set(p.features, r * cols);
    labels.set(p.labels, r);
    r += p.rows;
  }
  return { features, labels, rows, cols };
}

function testAuroc(model: tf.LayersModel, data: TrainingData): number {
  const scores = predictProbabilities(model, data.features, data.rows, data.cols);
  const value = auroc(data.labels, scores);
  if (value === null) throw new Error('a test set has only one class; AUROC is undefined');
  return value;
}

/**
 * One seed: the cohort, initial weights and shuffling all come from `seed` (as `himas train --seed`).
 * Every method sees the same number of passes over each row (rounds × localEpochs), so the
 * comparison is at equal local compute. The preprocessor is fitted on all training rows, which is
 * what merging the hospitals' federated statistics gives.
 */
async function runSeed(settings: QualitySettings, seed: number): Promise<QualityResult['raw'][number]> {
  const cohort = generateCohort({ preset: settings.preset, seed });
  const preprocessor = fitPreprocessor(cohort.hospitals.flatMap((h) => h.train));
  const train = cohort.hospitals.map((h) => transformRecords(preprocessor, h.train));
  const test = cohort.hospitals.map((h) => toTrainingData(transformRecords(preprocessor, h.test)));
  const pooledTest = concat(test);
  const spec = { kind: 'mlp' as const, inputDim: train[0].cols, hiddenUnits: settings.hiddenUnits };
  const epochs = settings.rounds * settings.localEpochs;
  const options = (random: SeededRandom, e: number) => ({
    epochs: e,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    random,
  });
  const ids = cohort.hospitals.map((h) => h.hospitalId);
  const perHospital: Record<string, Record<QualityMethod, number>> = {};
  for (const id of ids) perHospital[id] = { centralized: NaN, localOnly: NaN, fedavg: NaN };

  // Centralized: one model on every hospital's training rows.
  const central = createModel(spec, seed);
  await trainLocally(
    central,
    concat(train.map(toTrainingData)),
    options(new SeededRandom(seed).fork('central'), epochs),
  );
  const pooled: Record<QualityMethod, number> = {
    centralized: testAuroc(central, pooledTest),
    localOnly: NaN,
    fedavg: NaN,
  };
  ids.forEach((id, i) => (perHospital[id].centralized = testAuroc(central, test[i])));
  central.dispose();

  // Local only: each hospital alone, from the same initial weights.
  const pooledLocalOnly: Record<string, number> = {};
  for (let i = 0; i < ids.length; i++) {
    const local = createModel(spec, seed);
    await trainLocally(local, toTrainingData(train[i]), options(new SeededRandom(seed).fork(ids[i]), epochs));
    perHospital[ids[i]].localOnly = testAuroc(local, test[i]);
    pooledLocalOnly[ids[i]] = testAuroc(local, pooledTest);
    local.dispose();
  }
  pooled.localOnly = ids.reduce((a, id) => a + pooledLocalOnly[id], 0) / ids.length;

  // FedAvg (McMahan et al. 2017, example-weighted), in process: the same math the aggregator runs.
  const strategy = fedAvg({ weighting: 'examples' });
  const model = createModel(spec, seed);
  let global = getFlatWeights(model);
  const shuffles = ids.map((id) => new SeededRandom(seed).fork(`fed-${id}`));
  for (let round = 1; round <= settings.rounds; round++) {
    const updates = [];
    for (let i = 0; i < ids.length; i++) {
      setFlatWeights(model, global);
      await trainLocally(model, toTrainingData(train[i]), options(shuffles[i], settings.localEpochs));
      const local = getFlatWeights(model);
      const delta = new Float32Array(local.length);
      for (let j = 0; j < local.length; j++) delta[j] = local[j] - global[j];
      updates.push({ hospitalId: ids[i], delta, numExamples: train[i].rows });
    }
    global = strategy.aggregate(global, updates, undefined, {
      round,
      expectedHospitals: ids.length,
      enrolledHospitals: ids.length,
    }).weights;
  }
  setFlatWeights(model, global);
  pooled.fedavg = testAuroc(model, pooledTest);
  ids.forEach((id, i) => (perHospital[id].fedavg = testAuroc(model, test[i])));
  model.dispose();
  return { seed, pooled, pooledLocalOnly, perHospital };
}

export async function benchQuality(settings: QualitySettings): Promise<QualityResult> {
  const raw: QualityResult['raw'] = [];
  for (const seed of settings.seeds) raw.push(await runSeed(settings, seed));
  const hospitals = Object.keys(raw[0].perHospital);
  const methods: QualityMethod[] = ['centralized', 'localOnly', 'fedavg'];
  const interval = (f: (r: QualityResult['raw'][number]) => number) => meanInterval95(raw.map(f));
  const pooled = Object.fromEntries(methods.map((m) => [m, interval((r) => r.pooled[m])])) as Record<
    QualityMethod,
    MeanInterval
  >;
  const perHospital = Object.fromEntries(
    hospitals.map((h) => [
      h,
      Object.fromEntries(methods.map((m) => [m, interval((r) => r.perHospital[h][m])])) as Record<
        QualityMethod,
        MeanInterval
      >,
    ]),
  );
  return {
    settings,
    hospitals,
    pooled,
    pooledLocalOnlyByHospital: Object.fromEntries(
      hospitals.map((h) => [h, interval((r) => r.pooledLocalOnly[h])]),
    ),
    perHospital,
    raw,
  };
}
