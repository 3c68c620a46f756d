import type * as tf from '@tensorflow/tfjs';
import { DP_SGD_RECIPE, TrainingConfigSchema } from '../../schemas/training-config';
import {
  fitPreprocessor,
  generateCohort,
  transformRecords,
  type DesignMatrix,
  type PresetName,
} from '../../src/core/data';
import {
  dpFedAvg,
  fedAdam,
  fedAvg,
  type AggregationStrategy,
  type StrategyState,
} from '../../src/core/federated';
import { evaluateBinary } from '../../src/core/metrics';
import {
  createModel,
  getFlatWeights,
  predictProbabilities,
  setFlatWeights,
  trainLocally,
  trainLocallyWithDpSgd,
  type ModelSpec,
  type TrainingData,
} from '../../src/core/model';
import { noiseMultiplierForEpsilon, planPatientLevelDp } from '../../src/core/privacy';
import { SeededRandom } from '../../src/core/random/seeded-random';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { meanInterval95, type MeanInterval } from '../statistics';

/** The training settings of `himas train`'s non-private defaults, so the comparison is with what users get. */
export interface QualitySettings {
  preset: PresetName;
  seeds: number[];
  rounds: number;
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  hiddenUnits: number[];
  /** Patient-level DP-SGD targets ε per hospital over the whole run (δ below). */
  patientEpsilons: number[];
  /** Hospital-level DP-FedAvg targets ε (empty where too few hospitals make it meaningless). */
  hospitalEpsilons: number[];
  /** Run FedAdam (Reddi et al. 2021) as well as FedAvg. */
  fedAdam: boolean;
  delta: number;
  /** L2 clip norm C of hospital-level DP-FedAvg (the non-private recipe's clipNorm). */
  hospitalClipNorm: number;
}

export const QUICK_QUALITY: QualitySettings = {
  preset: 'archetypes',
  seeds: [1, 2, 3],
  rounds: 5,
  localEpochs: 2,
  batchSize: 64,
  learningRate: 0.003,
  hiddenUnits: [64, 32],
  patientEpsilons: [1, 8],
  hospitalEpsilons: [],
  fedAdam: true,
  delta: 1e-5,
  hospitalClipNorm: 2,
};

/** The per-example clip norm `himas train` uses by default under DP-SGD. */
const DEFAULT_EXAMPLE_CLIP_NORM = TrainingConfigSchema.parse({}).exampleClipNorm;

export type MethodKind =
  'centralized' | 'localOnly' | 'fedavg' | 'fedadam' | 'dpRecipe' | 'dpsgd' | 'dpfedavg';

export interface QualityMethod {
  /** Key in the result maps, e.g. 'fedavg', 'dpsgd-eps1'. */
  id: string;
  kind: MethodKind;
  label: string;
  /** Target ε (patient level for dpsgd, hospital level for dpfedavg). */
  epsilon?: number;
}

export interface ModelMetrics {
  /** Null when the test set has one class only. */
  auroc: number | null;
  auprc: number | null;
  /** Calibration in the large Σy/Σp. */
  observedExpected: number | null;
  /** Logistic recalibration slope (1 is ideal). */
  calibrationSlope: number | null;
}

export type MetricIntervals = Record<keyof ModelMetrics, MeanInterval | null>;

export interface PresetQuality {
  settings: QualitySettings;
  methods: QualityMethod[];
  hospitals: string[];
  /** Test rows and positives of each hospital in the first seed (small hospitals may have no positive). */
  testSizes: Record<string, { rows: number; positives: number }>;
  /** Metrics on all hospitals' test rows pooled; localOnly: mean over the hospitals' own models. */
  pooled: Record<string, MetricIntervals>;
  /** Metrics on each hospital's own test rows (localOnly: that hospital's own model). */
  perHospital: Record<string, Record<string, MetricIntervals>>;
  /** Noise multipliers the DP rows used (mean over hospitals and seeds for dpsgd). */
  noiseMultipliers: Record<string, number>;
  /** The DP-SGD recipe the DP rows trained with (DP_SGD_RECIPE at measurement time). */
  dpRecipe?: {
    model: string;
    batchSize: number;
    learningRate: number;
    localEpochs: number;
    /** Absent in results measured before it was recorded (C_example was 1 then). */
    exampleClipNorm?: number;
  };
  seconds: number;
  raw: Array<{
    seed: number;
    pooled: Record<string, ModelMetrics>;
    perHospital: Record<string, Record<string, ModelMetrics>>;
  }>;
}

export interface QualityResult {
  presets: PresetQuality[];
}

export function qualityMethods(settings: QualitySettings): QualityMethod[] {
  return [
    { id: 'centralized', kind: 'centralized', label: 'centralized' },
    { id: 'localOnly', kind: 'localOnly', label: 'local only' },
    { id: 'fedavg', kind: 'fedavg', label: 'FedAvg' },
    ...(settings.fedAdam ? [{ id: 'fedadam', kind: 'fedadam' as const, label: 'FedAdam' }] : []),
    { id: 'dpRecipe', kind: 'dpRecipe', label: 'FedAvg, DP recipe, no noise (ε = ∞)' },
    ...settings.patientEpsilons.map((epsilon) => ({
      id: `dpsgd-eps${epsilon}`,
      kind: 'dpsgd' as const,
      label: `FedAvg + patient-level DP-SGD, ε = ${epsilon}`,
      epsilon,
    })),
    ...settings.hospitalEpsilons.map((epsilon) => ({
      id: `dpfedavg-eps${epsilon}`,
      kind: 'dpfedavg' as const,
      label: `hospital-level DP-FedAvg, ε = ${epsilon}`,
      epsilon,
    })),
  ];
}

function toTrainingData(m: DesignMatrix): TrainingData {
  return { features: m.features, labels: m.labels, rows: m.rows, cols: m.cols };
}

/** Rows of several hospitals stacked into one matrix (what pooling records means in a simulation). */
export function concat(parts: readonly TrainingData[]): TrainingData {
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

export function metricsOf(model: tf.LayersModel, data: TrainingData): ModelMetrics {
  const m = evaluateBinary(data.labels, predictProbabilities(model, data.features, data.rows, data.cols));
  return {
    auroc: m.auroc,
    auprc: m.auprc,
    observedExpected: m.observedExpectedRatio,
    calibrationSlope: m.calibrationSlope,
  };
}

interface SeedData {
  ids: string[];
  train: TrainingData[];
  test: TrainingData[];
  pooledTest: TrainingData;
}

/** One hospital's local training for one round (or all epochs, for centralized/local-only). */
type LocalTrainer = (model: tf.LayersModel, hospital: number, epochs: number) => Promise<void>;

/**
 * A federated run in process: the same math the aggregator runs, every hospital every round,
 * from the seed's initial weights. Returns the final model (caller disposes).
 */
async function federate(
  spec: ModelSpec,
  seed: number,
  data: SeedData,
  rounds: number,
  localEpochs: number,
  strategy: AggregationStrategy,
  train: LocalTrainer,
): Promise<tf.LayersModel> {
  const model = createModel(spec, seed);
  let global = getFlatWeights(model);
  let state: StrategyState | undefined;
  const random = new CryptoRandom();
  for (let round = 1; round <= rounds; round++) {
    const updates = [];
    for (let i = 0; i < data.ids.length; i++) {
      setFlatWeights(model, global);
      await train(model, i, localEpochs);
      const local = getFlatWeights(model);
      const delta = new Float32Array(local.length);
      for (let j = 0; j < local.length; j++) delta[j] = local[j] - global[j];
      updates.push({ hospitalId: data.ids[i], delta, numExamples: data.train[i].rows });
    }
    const result = strategy.aggregate(global, updates, state, {
      round,
      expectedHospitals: data.ids.length,
      enrolledHospitals: data.ids.length,
      random,
    });
    global = result.weights;
    state = result.state;
  }
  setFlatWeights(model, global);
  return model;
}

/**
 * One seed: the cohort, initial weights and shuffling all come from `seed` (as `himas train --seed`).
 * Every non-private method sees the same number of passes over each row (rounds × localEpochs), so
 * the comparison is at equal local compute. The preprocessor is fitted on all training rows, which
 * is what merging the hospitals' federated statistics gives.
 */
async function runSeed(
  settings: QualitySettings,
  methods: readonly QualityMethod[],
  seed: number,
  noise: Record<string, number[]>,
): Promise<PresetQuality['raw'][number] & { testSizes: PresetQuality['testSizes'] }> {
  const cohort = generateCohort({ preset: settings.preset, seed });
  const preprocessor = fitPreprocessor(cohort.hospitals.flatMap((h) => h.train));
  const data: SeedData = {
    ids: cohort.hospitals.map((h) => h.hospitalId),
    train: cohort.hospitals.map((h) => toTrainingData(transformRecords(preprocessor, h.train))),
    test: cohort.hospitals.map((h) => toTrainingData(transformRecords(preprocessor, h.test))),
    pooledTest: { features: new Float32Array(0), labels: new Float32Array(0), rows: 0, cols: 0 },
  };
  data.pooledTest = concat(data.test);
  const { ids, train, test } = data;
  const cols = train[0].cols;
  const mlp: ModelSpec = { kind: 'mlp', inputDim: cols, hiddenUnits: settings.hiddenUnits };
  const dpSpec: ModelSpec = { kind: DP_SGD_RECIPE.model, inputDim: cols };
  const epochs = settings.rounds * settings.localEpochs;
  const plain =
    (
      random: (i: number) => SeededRandom,
      recipe: { batchSize: number; learningRate: number },
    ): LocalTrainer =>
    async (model, i, e) => {
      await trainLocally(model, train[i], { epochs: e, ...recipe, random: random(i) });
    };
  const nonPrivate = { batchSize: settings.batchSize, learningRate: settings.learningRate };
  const dpRecipe = { batchSize: DP_SGD_RECIPE.batchSize, learningRate: DP_SGD_RECIPE.localLearningRate };
  const pooled: Record<string, ModelMetrics> = {};
  const perHospital: Record<string, Record<string, ModelMetrics>> = Object.fromEntries(
    ids.map((id) => [id, {}]),
  );
  const score = (id: string, model: tf.LayersModel) => {
    pooled[id] = metricsOf(model, data.pooledTest);
    ids.forEach((h, i) => (perHospital[h][id] = metricsOf(model, test[i])));
  };
  for (const method of methods) {
    const shuffles = ids.map((h) => new SeededRandom(seed).fork(`${method.id}-${h}`));
    const byHospital = (i: number) => shuffles[i];
    if (method.kind === 'centralized') {
      const model = createModel(mlp, seed);
      await trainLocally(model, concat(train), {
        epochs,
        ...nonPrivate,
        random: new SeededRandom(seed).fork('central'),
      });
      score(method.id, model);
      model.dispose();
    } else if (method.kind === 'localOnly') {
      const own: ModelMetrics[] = [];
      for (let i = 0; i < ids.length; i++) {
        const model = createModel(mlp, seed);
        await plain(byHospital, nonPrivate)(model, i, epochs);
        perHospital[ids[i]][method.id] = metricsOf(model, test[i]);
        own.push(metricsOf(model, data.pooledTest));
        model.dispose();
      }
      pooled[method.id] = meanMetrics(own);
    } else {
      const model = await federatedModel(method, settings, seed, data, { mlp, dpSpec }, noise, {
        nonPrivate: plain(byHospital, nonPrivate),
        dpRecipe: plain(byHospital, dpRecipe),
        shuffles,
      });
      score(method.id, model);
      model.dispose();
    }
  }
  const testSizes = Object.fromEntries(
    ids.map((h, i) => [h, { rows: test[i].rows, positives: test[i].labels.reduce((a, b) => a + b, 0) }]),
  );
  return { seed, pooled, perHospital, testSizes };
}

async function federatedModel(
  method: QualityMethod,
  settings: QualitySettings,
  seed: number,
  data: SeedData,
  specs: { mlp: ModelSpec; dpSpec: ModelSpec },
  noise: Record<string, number[]>,
  trainers: { nonPrivate: LocalTrainer; dpRecipe: LocalTrainer; shuffles: SeededRandom[] },
): Promise<tf.LayersModel> {
  const { rounds, localEpochs } = settings;
  const examples = fedAvg({ weighting: 'examples' });
  switch (method.kind) {
    case 'fedavg':
      return federate(specs.mlp, seed, data, rounds, localEpochs, examples, trainers.nonPrivate);
    case 'fedadam':
      return federate(
        specs.mlp,
        seed,
        data,
        rounds,
        localEpochs,
        fedAdam({ serverLearningRate: 0.01, weighting: 'examples' }),
        trainers.nonPrivate,
      );
    case 'dpRecipe':
      return federate(
        specs.dpSpec,
        seed,
        data,
        rounds,
        DP_SGD_RECIPE.localEpochs,
        examples,
        trainers.dpRecipe,
      );
    case 'dpsgd': {
      // What a hospital job does: plan z for the whole run from its own N, then DP-SGD every round.
      const plans = data.train.map((t) =>
        planPatientLevelDp({
          targetEpsilon: method.epsilon!,
          delta: settings.delta,
          datasetSize: t.rows,
          batchSize: DP_SGD_RECIPE.batchSize,
          epochsPerRound: DP_SGD_RECIPE.localEpochs,
          rounds,
        }),
      );
      (noise[method.id] ??= []).push(...plans.map((p) => p.noiseMultiplier));
      const noiseRandom = new CryptoRandom();
      return federate(
        specs.dpSpec,
        seed,
        data,
        rounds,
        DP_SGD_RECIPE.localEpochs,
        examples,
        async (model, i, e) => {
          await trainLocallyWithDpSgd(model, data.train[i], {
            epochs: e,
            batchSize: DP_SGD_RECIPE.batchSize,
            learningRate: DP_SGD_RECIPE.localLearningRate,
            exampleClipNorm: DEFAULT_EXAMPLE_CLIP_NORM,
            noiseMultiplier: plans[i].noiseMultiplier,
            // DP-SGD's sampling is secret by construction: fresh CSPRNG draws, like the noise.
            random: noiseRandom,
            noiseRandom,
          });
        },
      );
    }
    case 'dpfedavg': {
      // Every hospital every round (q = 1): z for ε after `rounds` Gaussian releases of the average.
      const { noiseMultiplier } = noiseMultiplierForEpsilon({
        targetEpsilon: method.epsilon!,
        delta: settings.delta,
        samplingProbability: 1,
        steps: rounds,
      });
      noise[method.id] = [noiseMultiplier];
      const strategy = dpFedAvg(fedAvg({ serverLearningRate: 1, weighting: 'uniform' }), {
        clipNorm: settings.hospitalClipNorm,
        noiseMultiplier,
      });
      return federate(specs.mlp, seed, data, rounds, localEpochs, strategy, trainers.nonPrivate);
    }
    default:
      throw new Error(`not a federated method: ${method.kind}`);
  }
}

const METRIC_KEYS: Array<keyof ModelMetrics> = ['auroc', 'auprc', 'observedExpected', 'calibrationSlope'];

/** Mean of each metric over models, skipping nulls (null when every model's value is null). */
function meanMetrics(all: readonly ModelMetrics[]): ModelMetrics {
  const out = {} as ModelMetrics;
  for (const k of METRIC_KEYS) {
    const values = all.map((m) => m[k]).filter((v): v is number => v !== null);
    out[k] = values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}

/** 95 % t interval over the seeds that have a value; null when none has. */
export function intervalsOf(values: ReadonlyArray<ModelMetrics | undefined>): MetricIntervals {
  const out = {} as MetricIntervals;
  for (const k of METRIC_KEYS) {
    const xs = values.map((m) => m?.[k] ?? null).filter((v): v is number => v !== null && Number.isFinite(v));
    out[k] = xs.length === 0 ? null : meanInterval95(xs);
  }
  return out;
}

export async function benchQuality(
  settings: QualitySettings,
  log: (msg: string) => void = () => undefined,
): Promise<PresetQuality> {
  const started = Date.now();
  const methods = qualityMethods(settings);
  const raw: PresetQuality['raw'] = [];
  const noise: Record<string, number[]> = {};
  let testSizes: PresetQuality['testSizes'] = {};
  for (const seed of settings.seeds) {
    const t = Date.now();
    const r = await runSeed(settings, methods, seed, noise);
    if (raw.length === 0) testSizes = r.testSizes;
    raw.push({ seed: r.seed, pooled: r.pooled, perHospital: r.perHospital });
    log(`quality ${settings.preset} seed ${seed}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const hospitals = Object.keys(raw[0].perHospital);
  const pooled = Object.fromEntries(methods.map((m) => [m.id, intervalsOf(raw.map((r) => r.pooled[m.id]))]));
  const perHospital = Object.fromEntries(
    hospitals.map((h) => [
      h,
      Object.fromEntries(methods.map((m) => [m.id, intervalsOf(raw.map((r) => r.perHospital[h][m.id]))])),
    ]),
  );
  return {
    settings,
    methods,
    hospitals,
    testSizes,
    pooled,
    perHospital,
    noiseMultipliers: Object.fromEntries(
      Object.entries(noise).map(([id, zs]) => [id, zs.reduce((a, b) => a + b, 0) / zs.length]),
    ),
    dpRecipe: {
      model: DP_SGD_RECIPE.model,
      batchSize: DP_SGD_RECIPE.batchSize,
      learningRate: DP_SGD_RECIPE.localLearningRate,
      localEpochs: DP_SGD_RECIPE.localEpochs,
      exampleClipNorm: DEFAULT_EXAMPLE_CLIP_NORM,
    },
    seconds: (Date.now() - started) / 1000,
    raw,
  };
}
