import type * as tf from '@tensorflow/tfjs';
import type { TrainingConfig, TrainingConfigInput } from '../../schemas/training-config';
import {
  fitPreprocessor,
  generateCohort,
  referencePreprocessor,
  transformRecords,
  type CohortRecord,
  type PresetName,
} from '../../src/core/data';
import {
  createModel,
  getFlatWeights,
  interceptIndex,
  predictProbabilities,
  setFlatWeights,
  siteUpdate,
  trainLocally,
  trainLocallyWithDpSgd,
  type ModelSpec,
  type TrainingData,
  withSiteIntercept,
} from '../../src/core/model';
import { evaluateBinary } from '../../src/core/metrics';
import { loadTrainingConfig } from '../../src/config/training-config-loader';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { SeededRandom } from '../../src/core/random/seeded-random';
import { planForHospital } from '../../src/services/patient-privacy';
import { simulateFederatedRounds } from '../../src/local/federated-simulation';
import { concat, metricsOf, intervalsOf, type MetricIntervals, type ModelMetrics } from './quality';
import { meanInterval95, type MeanInterval } from '../statistics';

/**
 * The strategy comparison of issue 14: every federated row is `himas train` with its privacy
 * defaults (patient-level DP-SGD, ε = 1 per hospital, the DP recipe, C_example and the update clip
 * from the schema) and one strategy setting changed, trained the way the hospital jobs and the
 * aggregator do it (each hospital plans z from its declared size, trains with DP-SGD from the
 * CSPRNG, the configured strategy aggregates), in one process. The references pool records, which
 * only a simulation can: a central model and each hospital alone, same recipe and passes, no noise.
 */
export interface StrategySettings {
  preset: PresetName;
  hospitals: number;
  /** Total stays; default: the preset's natural sizes. */
  patients?: number;
  rounds: number;
  seeds: number[];
  strategies: StrategyRow[];
}

export interface StrategyRow {
  id: string;
  label: string;
  /** What differs from the defaults, as `himas train` flags would set it. */
  overrides: Partial<TrainingConfigInput>;
  /** Recipe variants measured here before (or instead of) becoming flags: see HarnessVariant. */
  variant?: HarnessVariant;
}

/**
 * Ways to lower the noise floor of the final weights at the same ε, all post-processing of what
 * DP-SGD released or a schedule fixed in advance (so no extra ε): averaging the global models of
 * the last rounds, and a local learning rate that decays over the rounds.
 */
export interface HarnessVariant {
  /**
   * Site-specific intercepts (src/core/model/site-intercept.ts): each hospital keeps its own
   * output bias and sends updates with that coordinate 0; hospital i is scored with its own.
   */
  siteIntercept?: boolean;
  /** Serve the mean of the last k global models (k = 1: the last one, as today). */
  tailAverageRounds?: number;
  /** Local learning rate per round: constant (today), cosine from lr to lr/10, or lr/3 in the last third. */
  learningRateSchedule?: 'constant' | 'cosine' | 'last-third';
  /**
   * Personalised serving: hospital i serves its own weights after the last round's local training
   * (the global model of round R − 1 plus its own DP-SGD update, never averaged), not the final global.
   */
  servePersonalized?: boolean;
}

export function roundLearningRate(
  base: number,
  schedule: HarnessVariant['learningRateSchedule'],
  round: number,
  rounds: number,
): number {
  if (!schedule || schedule === 'constant' || rounds <= 1) return base;
  if (schedule === 'last-third') return round > Math.ceil((2 * rounds) / 3) ? base / 3 : base;
  const t = (round - 1) / (rounds - 1);
  return base * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

export const STRATEGY_ROWS: StrategyRow[] = [
  { id: 'default', label: 'default: DP-FedAvg (z = 0, uniform), secure aggregation', overrides: {} },
  { id: 'fedavg', label: 'FedAvg, example-weighted', overrides: { aggregation: 'fedavg' } },
  { id: 'fedprox-0.01', label: 'FedProx μ = 0.01', overrides: { proximalMu: 0.01 } },
  { id: 'fedprox-0.1', label: 'FedProx μ = 0.1', overrides: { proximalMu: 0.1 } },
  { id: 'fedprox-1', label: 'FedProx μ = 1', overrides: { proximalMu: 1 } },
  {
    id: 'fedavgm',
    label: 'FedAvgM (server momentum 0.9, server lr 0.5)',
    overrides: { serverOptimizer: 'momentum', serverLearningRate: 0.5 },
  },
  {
    id: 'fedadam',
    label: 'FedAdam (server lr 0.05)',
    overrides: { serverOptimizer: 'adam', serverLearningRate: 0.05 },
  },
  {
    id: 'fedyogi',
    label: 'FedYogi (server lr 0.05)',
    overrides: { serverOptimizer: 'yogi', serverLearningRate: 0.05 },
  },
  {
    id: 'fedadagrad',
    label: 'FedAdagrad (server lr 0.05)',
    overrides: { serverOptimizer: 'adagrad', serverLearningRate: 0.05 },
  },
  {
    id: 'median',
    label: 'coordinate-wise median (no secure aggregation)',
    overrides: { aggregation: 'median', secureAggregation: false },
  },
  {
    id: 'trimmed-mean',
    label: 'trimmed mean β = 0.1 (no secure aggregation)',
    overrides: { aggregation: 'trimmed-mean', secureAggregation: false },
  },
];

export const QUICK_STRATEGIES: StrategySettings = {
  preset: 'eicu-like',
  hospitals: 10,
  rounds: 10,
  seeds: [1, 2, 3],
  strategies: STRATEGY_ROWS,
};

export interface StrategyMetrics extends ModelMetrics {
  /** Largest |ln O:E| over hospitals with a defined O:E on their own test split. */
  worstLogOE: number | null;
  /** Hospitals whose own local-only model has a higher AUROC on their own test split. */
  localOnlyWins: number;
  /** Hospitals where both AUROCs are defined (a test split with both outcomes). */
  comparedHospitals: number;
  /** Indices (cohort order) of the hospitals counted in localOnlyWins. */
  localOnlyWinners?: number[];
}

export interface StrategyResult {
  settings: Omit<StrategySettings, 'strategies'>;
  rows: Array<{ id: string; label: string }>;
  /** The recipe every row trained with (the defaults at measurement time). */
  defaults: Pick<
    TrainingConfig,
    | 'model'
    | 'batchSize'
    | 'localEpochs'
    | 'localLearningRate'
    | 'exampleClipNorm'
    | 'clipNorm'
    | 'patientTargetEpsilon'
    | 'delta'
  >;
  trainStays: number[][];
  pooled: Record<string, MetricIntervals & { worstLogOE: MeanInterval | null; localOnlyWins: MeanInterval }>;
  seconds: number;
  raw: Array<{ seed: number; rows: Record<string, StrategyMetrics> }>;
}

interface Split {
  hospitalId: string;
  train: CohortRecord[];
  test: CohortRecord[];
}

const design = (p: ReturnType<typeof referencePreprocessor>, records: CohortRecord[]): TrainingData =>
  transformRecords(p, records);

function configFor(settings: StrategySettings, seed: number, row: StrategyRow): TrainingConfig {
  return loadTrainingConfig({
    base: {
      preset: settings.preset,
      hospitals: settings.hospitals,
      patients: settings.patients,
      rounds: settings.rounds,
      seed,
      ...(row.overrides as Partial<TrainingConfig>),
    },
    env: {},
  });
}

const specOf = (config: TrainingConfig, inputDim: number): ModelSpec => ({
  kind: config.model,
  inputDim,
  hiddenUnits: config.model === 'mlp' ? config.hiddenUnits : [],
});

/**
 * What a federated run serves: the global weights and, with site intercepts, each hospital's own
 * intercept (the model hospital i serves is the global one with intercepts[i] in place).
 */
export interface ServedModels {
  model: tf.LayersModel;
  global: Float32Array;
  interceptIndex: number;
  /** Per hospital, its own intercept, or null (no site intercept: the global model everywhere). */
  intercepts: Array<number | null>;
  /** Per hospital, whole weights it serves instead of the global ones (personalised serving), or null. */
  personal?: Array<Float32Array | null>;
}

/** A run of the jobs and the aggregator in one process: DP-SGD at every hospital, then the strategy. */
async function federatedRun(
  config: TrainingConfig,
  splits: Split[],
  variant: HarnessVariant = {},
): Promise<ServedModels> {
  const preprocessor = referencePreprocessor();
  const trains = splits.map((s) => design(preprocessor, s.train));
  const noise = splits.map((s) => {
    const plan = planForHospital(config, s.train.length, s.hospitalId);
    const sgd = plan.mechanisms.find((m) => m.mechanism === 'dp-sgd');
    if (!sgd) throw new Error(`no DP-SGD in the plan of ${s.hospitalId}`);
    return sgd.noiseMultiplier;
  });
  const model = createModel(specOf(config, trains[0].cols), config.seed);
  const index = interceptIndex(model);
  const site = variant.siteIntercept === true;
  const intercepts: Array<number | null> = splits.map(() => null);
  const tail = Math.max(1, variant.tailAverageRounds ?? 1);
  const globals: Float32Array[] = [];
  // With tail averaging, each hospital also averages its own intercepts of the same rounds.
  const interceptHistory: number[][] = splits.map(() => []);
  const personal: Array<Float32Array | null> = splits.map(() => null);
  await simulateFederatedRounds({
    config,
    model,
    hospitals: splits.map((s, i) => ({ hospitalId: s.hospitalId, declaredRows: trains[i].rows })),
    trainLocal: async (i, round) => {
      const global = getFlatWeights(model);
      if (i === 0 && round > config.rounds - tail + 1) globals.push(global);
      if (site) setFlatWeights(model, withSiteIntercept(global, index, intercepts[i]));
      await trainLocallyWithDpSgd(model, trains[i], {
        epochs: config.localEpochs,
        batchSize: config.batchSize,
        learningRate: roundLearningRate(
          config.localLearningRate,
          variant.learningRateSchedule,
          round,
          config.rounds,
        ),
        proximalMu: config.proximalMu,
        declaredRows: trains[i].rows,
        exampleClipNorm: config.exampleClipNorm,
        noiseMultiplier: noise[i],
        random: new CryptoRandom(),
        noiseRandom: new CryptoRandom(),
      });
      if (variant.servePersonalized && round === config.rounds) personal[i] = getFlatWeights(model);
      if (site) {
        // What the job sends: the update without the intercept; what it keeps: the intercept.
        const { delta, intercept } = siteUpdate(getFlatWeights(model), global, index);
        intercepts[i] = intercept;
        if (round > config.rounds - tail) interceptHistory[i].push(intercept);
        setFlatWeights(
          model,
          global.map((w, j) => w + delta[j]),
        );
      }
    },
  });
  globals.push(getFlatWeights(model));
  const global = new Float32Array(globals[0].length);
  for (const g of globals) for (let j = 0; j < g.length; j++) global[j] += g[j] / globals.length;
  setFlatWeights(model, global);
  const served = intercepts.map((v, i) =>
    v === null ? null : interceptHistory[i].reduce((a, b) => a + b, 0) / interceptHistory[i].length,
  );
  return { model, global, interceptIndex: index, intercepts: served, personal };
}

/** Each hospital's test split scored by the model it serves; pooled = those scores together. */
function servedMetrics(
  served: ServedModels,
  tests: TrainingData[],
): { pooled: ModelMetrics; perHospital: ModelMetrics[] } {
  const labels: number[] = [];
  const probabilities: number[] = [];
  const perHospital = tests.map((test, i) => {
    setFlatWeights(
      served.model,
      withSiteIntercept(served.global, served.interceptIndex, served.intercepts[i]),
    );
    const p = predictProbabilities(served.model, test.features, test.rows, test.cols);
    for (let r = 0; r < test.rows; r++) {
      labels.push(test.labels[r]);
      probabilities.push(p[r]);
    }
    return metricsFrom(test.labels, p);
  });
  setFlatWeights(served.model, served.global);
  return { pooled: metricsFrom(Float32Array.from(labels), Float32Array.from(probabilities)), perHospital };
}

function metricsFrom(labels: ArrayLike<number>, probabilities: ArrayLike<number>): ModelMetrics {
  const m = evaluateBinary(labels, probabilities);
  return {
    auroc: m.auroc,
    auprc: m.auprc,
    observedExpected: m.observedExpectedRatio,
    calibrationSlope: m.calibrationSlope,
  };
}

/** The same recipe and passes without noise, on pooled rows (central) or one hospital's (local only). */
async function referenceModel(
  config: TrainingConfig,
  train: TrainingData,
  label: string,
): Promise<tf.LayersModel> {
  const model = createModel(specOf(config, train.cols), config.seed);
  await trainLocally(model, train, {
    epochs: config.rounds * config.localEpochs,
    batchSize: config.batchSize,
    learningRate: config.localLearningRate,
    random: new SeededRandom(config.seed).fork(`reference:${label}`),
  });
  return model;
}

function withHospitalFigures(
  pooled: ModelMetrics,
  perHospital: ModelMetrics[],
  localOnly: ModelMetrics[] | null,
): StrategyMetrics {
  const logs = perHospital
    .map((m) => m.observedExpected)
    .filter((v): v is number => v !== null && v > 0 && Number.isFinite(v))
    .map((v) => Math.abs(Math.log(v)));
  let compared = 0;
  const winners: number[] = [];
  perHospital.forEach((m, i) => {
    const own = localOnly?.[i].auroc ?? null;
    if (m.auroc === null || own === null) return;
    compared++;
    if (own > m.auroc) winners.push(i);
  });
  const wins = winners.length;
  return {
    ...pooled,
    worstLogOE: logs.length === 0 ? null : Math.max(...logs),
    localOnlyWins: wins,
    comparedHospitals: compared,
    localOnlyWinners: winners,
  };
}

async function runSeed(settings: StrategySettings, seed: number, log: (m: string) => void) {
  const cohort = generateCohort({
    preset: settings.preset,
    hospitals: settings.hospitals,
    patients: settings.patients,
    seed,
  });
  const splits: Split[] = cohort.hospitals.map((h) => ({
    hospitalId: h.hospitalId,
    train: h.train,
    test: h.test,
  }));
  const rows: Record<string, StrategyMetrics> = {};
  const base = configFor(settings, seed, { id: 'default', label: '', overrides: {} });

  // References: fitted preprocessing on the records they train on (what a pooled analysis would do).
  const pooledTrain = splits.flatMap((s) => s.train);
  const central = fitPreprocessor(pooledTrain);
  const centralModel = await referenceModel(base, design(central, pooledTrain), 'central');
  const centralTests = splits.map((s) => design(central, s.test));
  const centralPerHospital = centralTests.map((t) => metricsOf(centralModel, t));
  rows.central = withHospitalFigures(metricsOf(centralModel, concat(centralTests)), centralPerHospital, null);
  centralModel.dispose();
  const localOnly: ModelMetrics[] = [];
  for (const s of splits) {
    const own = fitPreprocessor(s.train);
    const model = await referenceModel(base, design(own, s.train), `local:${s.hospitalId}`);
    localOnly.push(metricsOf(model, design(own, s.test)));
    model.dispose();
  }
  rows.localOnly = { ...withHospitalFigures(meanOf(localOnly), localOnly, null) };

  const reference = referencePreprocessor();
  const tests = splits.map((s) => design(reference, s.test));
  for (const row of settings.strategies) {
    const t = Date.now();
    const config = configFor(settings, seed, row);
    const served = await federatedRun(config, splits, row.variant);
    const scored = servedMetrics(served, tests);
    rows[row.id] = withHospitalFigures(scored.pooled, scored.perHospital, localOnly);
    served.model.dispose();
    log(`strategies seed ${seed} ${row.id}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  return { seed, rows, trainStays: splits.map((s) => s.train.length) };
}

function meanOf(all: readonly ModelMetrics[]): ModelMetrics {
  const keys: Array<keyof ModelMetrics> = ['auroc', 'auprc', 'observedExpected', 'calibrationSlope'];
  const out = {} as ModelMetrics;
  for (const k of keys) {
    const xs = all.map((m) => m[k]).filter((v): v is number => v !== null);
    out[k] = xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
  }
  return out;
}

export async function benchStrategies(
  settings: StrategySettings,
  log: (msg: string) => void = () => undefined,
): Promise<StrategyResult> {
  const started = Date.now();
  const raw: StrategyResult['raw'] = [];
  const trainStays: number[][] = [];
  for (const seed of settings.seeds) {
    const r = await runSeed(settings, seed, log);
    raw.push({ seed: r.seed, rows: r.rows });
    trainStays.push(r.trainStays);
  }
  const ids = ['central', 'localOnly', ...settings.strategies.map((s) => s.id)];
  const pooled: StrategyResult['pooled'] = {};
  for (const id of ids) {
    const values = raw.map((r) => r.rows[id]);
    const worst = values.map((v) => v.worstLogOE).filter((v): v is number => v !== null);
    pooled[id] = {
      ...intervalsOf(values),
      worstLogOE: worst.length === 0 ? null : meanInterval95(worst),
      localOnlyWins: meanInterval95(values.map((v) => v.localOnlyWins)),
    };
  }
  const d = configFor(settings, settings.seeds[0], { id: 'default', label: '', overrides: {} });
  const { strategies, ...rest } = settings;
  return {
    settings: rest,
    rows: [
      { id: 'central', label: 'central (pooled records, same recipe, no noise)' },
      { id: 'localOnly', label: 'local only (each hospital alone, no noise; mean)' },
      ...strategies.map(({ id, label }) => ({ id, label })),
    ],
    defaults: {
      model: d.model,
      batchSize: d.batchSize,
      localEpochs: d.localEpochs,
      localLearningRate: d.localLearningRate,
      exampleClipNorm: d.exampleClipNorm,
      clipNorm: d.clipNorm,
      patientTargetEpsilon: d.patientTargetEpsilon,
      delta: d.delta,
    },
    trainStays,
    pooled,
    seconds: (Date.now() - started) / 1000,
    raw,
  };
}
