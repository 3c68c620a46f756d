// npm run bench [-- --full] [-- --render-only bench/results/DATE.json]
// Runs every benchmark in this process, writes bench/results/<date>.json, then renders
// docs/benchmarks.md and docs/benchmarks/*.svg from that file alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { profileWhile, summarizeProfile } from './cpu-profile';
import { machineInfo } from './machine';
import { writeBenchmarkDocs } from './report/benchmarks-doc';
import type { BenchResults } from './results';
import {
  BENCH_CLIP_NORM,
  BENCH_NOISE_MULTIPLIER,
  benchAggregate,
  benchAggregationStages,
  benchDecodeAndAggregate,
  makeUpdates,
} from './suites/aggregation';
import { benchNoise } from './suites/noise';
import { benchPeerTable } from './suites/aggregation-peers';
import { benchDeliveryLoad } from './suites/delivery-load';
import { mergeOrchestration } from './merge-results';
import {
  benchOrchestration,
  type OrchestrationOptions,
  type OrchestrationResult,
} from './suites/orchestration';
import { benchQuality, QUICK_QUALITY, type QualitySettings } from './suites/quality';
import { benchStrategies, QUICK_STRATEGIES } from './suites/strategies';
import { benchQualityTuning, QUALITY_TUNING } from './suites/quality-tuning';
import { benchTrainCriteria, TRAIN_CRITERIA } from './suites/train-criteria';
import { benchDoubleMasking, type DoubleMaskingFigure } from './suites/double-masking';
import { benchMasking, benchSecureAggregation } from './suites/secure-aggregation';
import {
  activateBackend,
  BENCH_HIDDEN_UNITS,
  BENCH_INPUT_DIM,
  benchDpSgd,
  benchDpSgdNumpyTable,
  benchTraining,
  syntheticTrainingData,
  trainingFlopsPerSample,
} from './suites/training';
import { createModel, trainLocally, type BackendName } from '../src/core/model';
import { SeededRandom } from '../src/core/random/seeded-random';

const REPO = path.resolve(__dirname, '..');
const log = (msg: string) => process.stderr.write(`${msg}\n`);

async function run(full: boolean): Promise<BenchResults> {
  const started = Date.now();
  const machine = machineInfo();
  log(
    `bench (${full ? 'full' : 'quick'}) on ${machine.cpuModel}, ${machine.cores} cores, node ${machine.nodeVersion}`,
  );

  // Aggregation: K × P grid, floor side by side.
  const grid: Array<[number, number]> = [];
  for (const p of [1e4, 1e6]) for (const k of [3, 30, 300]) grid.push([k, p]);
  const skipped: BenchResults['aggregation']['skipped'] = [];
  const figures = [];
  const decode = [];
  const stages = [];
  const secure = [];
  const masking = [];
  for (const [k, p] of grid) {
    if (!full && k * p > 1e8) {
      skipped.push({
        hospitals: k,
        params: p,
        reason: 'quick mode: 1.2 GB of updates (2.4 GB with encoded blobs) and ~1 min; run with --full',
      });
      log(`aggregation K=${k} P=${p}: skipped in quick mode`);
      continue;
    }
    const updates = makeUpdates(k, p);
    const big = k * p >= 3e7;
    const timing = { warmup: 1, repeats: full ? (big ? 9 : 21) : big ? 5 : 11 };
    figures.push(await benchAggregate(k, p, timing, updates));
    decode.push(
      await benchDecodeAndAggregate(k, p, { ...timing, repeats: Math.max(3, timing.repeats - 4) }, updates),
    );
    stages.push(await benchAggregationStages(k, p, { warmup: 1, repeats: big ? 3 : 7 }, updates));
    const f = figures[figures.length - 1];
    log(
      `aggregation K=${k} P=${p}: ${(f.paramsPerSecond / 1e6).toFixed(1)} M params/s, floor ratio ${f.floorRatio.toFixed(3)}`,
    );
    const s = await benchSecureAggregation(k, p, { warmup: 1, repeats: big ? 3 : full ? 11 : 7 }, updates);
    secure.push(s);
    masking.push(await benchMasking(k, p, { warmup: 1, repeats: big ? 3 : full ? 11 : 5 }));
    log(
      `secure aggregation K=${k} P=${p}: unmask floor ratio ${s.unmask.floorRatio.toFixed(3)}, ` +
        `masking / plain encoding ${masking[masking.length - 1].ratio.toExponential(2)}`,
    );
  }

  const doubleMasking = await benchDoubleMaskingGrid(full);
  const aggregationPeers = await benchPeerTable({ maxTotal: full ? 1e8 : 3e7, log });

  const noise = await benchNoise(1_000_000, { warmup: 2, repeats: full ? 21 : 11 });
  log(`noise: CryptoRandom / Math.random Box–Muller throughput = ${noise.ratio.toFixed(2)}`);

  // Training per backend.
  const backends = [];
  const trainingFigures = [];
  const profiles = [];
  const dpSgd = [];
  const rows = full ? 16384 : 8192;
  for (const backend of ['cpu', 'wasm', 'tensorflow'] as BackendName[]) {
    const status = await activateBackend(backend);
    backends.push(status);
    if (!status.present) {
      log(`training ${backend}: not present (${status.reason})`);
      continue;
    }
    for (const batchSize of [64, 256, 1024]) {
      const f = await benchTraining(backend, batchSize, rows, machine.peak.gflops, {
        warmup: 1,
        repeats: full ? 9 : 5,
      });
      trainingFigures.push(f);
      log(
        `training ${backend} batch ${batchSize}: ${f.samplesPerSecond.toFixed(0)} samples/s, ${(100 * f.fractionOfPeak).toFixed(2)} % of peak`,
      );
    }
    profiles.push({ backend, batchSize: 256, summary: summarizeProfile(await profileTraining(256, rows)) });
    for (const batchSize of full ? [64, 256, 1024] : [256]) {
      const d = await benchDpSgd(backend, batchSize, full ? rows : 4096, {
        warmup: 1,
        repeats: full ? 7 : 3,
      });
      dpSgd.push(d);
      log(
        `DP-SGD ${backend} batch ${batchSize}: ${d.dpSamplesPerSecond.toFixed(0)} samples/s, ${d.ratio.toFixed(3)} × plain`,
      );
    }
  }

  // DP-SGD against the numpy reference of the same step (issue 18).
  const dpSgdNumpy = await benchDpSgdNumpyTable(full, log);

  const orchestration = await benchOrchestration(orchestrationOptions(full));
  // K = 100 hospitals' statistics, training and evaluation jobs take minutes: --full (or --only delivery-load).
  const deliveryLoad = full ? await benchDeliveryLoad(DELIVERY_LOAD) : undefined;
  if (deliveryLoad)
    log(
      `delivery load K=${deliveryLoad.hospitals}: round closed in ${deliveryLoad.roundSeconds.toFixed(1)} s with ${deliveryLoad.participants} participants`,
    );

  // Quality uses the fastest present backend that is not the plain-JS one.
  await activateBackend(backends.some((b) => b.backend === 'wasm' && b.present) ? 'wasm' : 'cpu');
  const presets = await benchQualityPresets(full);
  const strategies = await benchStrategyTable(full);
  const cpu = process.cpuUsage();

  return {
    date: new Date(started).toISOString().slice(0, 10),
    startedAt: new Date(started).toISOString(),
    mode: full ? 'full' : 'quick',
    durationSeconds: (Date.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6 + orchestration.childCpuSeconds,
    machine,
    sharedMachineNote:
      `The machine (${machine.cores} cores) was shared with other engineers' test runs during the measurement ` +
      `(1-minute load average ${machine.loadAverageAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at the end): ` +
      'absolute times are noisy; ratios were measured side by side in one process and are the figures to compare.',
    aggregation: {
      clipNorm: BENCH_CLIP_NORM,
      noiseMultiplier: BENCH_NOISE_MULTIPLIER,
      figures,
      decode,
      stages,
      secure,
      masking,
      doubleMasking,
      skipped,
      pending: [],
    },
    aggregationPeers,
    noise,
    training: {
      flopsPerSample: trainingFlopsPerSample(BENCH_INPUT_DIM, BENCH_HIDDEN_UNITS),
      model: `MLP ${BENCH_INPUT_DIM}→${BENCH_HIDDEN_UNITS.join('→')}→1 (ReLU, sigmoid), Adam, trainLocally`,
      backends,
      figures: trainingFigures,
      profiles,
      dpSgd,
      dpSgdNumpy,
      pending: [],
    },
    orchestration,
    ...(deliveryLoad ? { resilience: { deliveryLoad } } : {}),
    quality: {
      presets,
      strategies,
      pending: full ? [] : ['FedAdam on eicu-like and ε = 0.5, 3: --full only'],
    },
  };
}

/** The double-masking grid: big cells (K·P ≥ 3·10^7) repeat less, so quick mode stays around a minute. */
function benchDoubleMaskingGrid(full: boolean): Promise<DoubleMaskingFigure[]> {
  return benchDoubleMasking(
    (k, p) => (k * p >= 3e7 ? { warmup: 1, repeats: full ? 5 : 2 } : { warmup: 1, repeats: full ? 11 : 5 }),
    log,
  );
}

/** `--only double-masking [--full] [--merge-into FILE]`: the double-masking grid, merged into a results file. */
async function runDoubleMaskingOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const full = argv.includes('--full');
  const started = Date.now();
  const i = argv.indexOf('--merge-into');
  const file = path.resolve(i >= 0 ? argv[i + 1] : newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only double-masking (${full ? 'full' : 'quick'}), merging into ${path.relative(REPO, file)}`);
  const doubleMasking = await benchDoubleMaskingGrid(full);
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    aggregation: { ...base.aggregation, doubleMasking },
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'double-masking',
        startedAt: new Date(started).toISOString(),
        mode: full ? 'full' : 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `double-masked secure aggregation at K = ${[...new Set(doubleMasking.map((f) => f.hospitals))].join(', ')}, no dropout and 20 % dropouts (replaces the run's double-masking table)`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

/** `--only dp-sgd [--full] [--merge-into FILE]`: DP-SGD against numpy, merged into a results file. */
async function runDpSgdOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const full = argv.includes('--full');
  const started = Date.now();
  const i = argv.indexOf('--merge-into');
  const file = path.resolve(i >= 0 ? argv[i + 1] : newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only dp-sgd (${full ? 'full' : 'quick'}), merging into ${path.relative(REPO, file)}`);
  const dpSgdNumpy = await benchDpSgdNumpyTable(full, log);
  // Read the file only now: another single-suite run may have merged meanwhile.
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    training: { ...base.training, dpSgdNumpy },
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'dp-sgd',
        startedAt: new Date(started).toISOString(),
        mode: full ? 'full' : 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `DP-SGD epochs against the numpy reference (${dpSgdNumpy.numpy.present ? `numpy ${dpSgdNumpy.numpy.numpy}` : `numpy not run: ${dpSgdNumpy.numpy.reason}`}), ${dpSgdNumpy.figures.length} cases (replaces the run's DP-SGD vs numpy table)`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

/** Both quality presets (archetypes, eicu-like): quick seeds unless --full. */
async function benchQualityPresets(full: boolean) {
  const seeds = full ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : undefined;
  const qualitySettings: QualitySettings[] = [
    { ...QUICK_QUALITY, ...(seeds ? { seeds, patientEpsilons: [0.5, 1, 3, 8] } : {}) },
    {
      ...QUICK_QUALITY,
      preset: 'eicu-like',
      ...(seeds
        ? { seeds, patientEpsilons: [0.5, 1, 3, 8], hospitalEpsilons: [1, 8] }
        : { seeds: [1, 2], fedAdam: false, hospitalEpsilons: [8] }),
    },
  ];
  const presets = [];
  for (const settings of qualitySettings) {
    const q = await benchQuality(settings, log);
    presets.push(q);
    log(
      `quality ${settings.preset}: pooled AUROC centralized ${q.pooled.centralized.auroc?.mean.toFixed(3)}, fedavg ${q.pooled.fedavg.auroc?.mean.toFixed(3)}`,
    );
  }
  return presets;
}

/** Issue 14's strategy table on eicu-like at the privacy defaults: 5 seeds quick, 10 with --full. */
async function benchStrategyTable(full: boolean) {
  const seeds = full ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [1, 2, 3, 4, 5];
  const s = await benchStrategies({ ...QUICK_STRATEGIES, seeds }, log);
  log(`strategies ${s.settings.preset}: ${s.rows.length} rows, ${s.seconds.toFixed(0)} s`);
  return s;
}

// Quick mode stops at K = 100 (and earlier if a round would take over 2 minutes); --full goes to 1000.
const QUICK_SCALING_HOSPITALS = [3, 10, 30, 100];
const FULL_SCALING_HOSPITALS = [3, 10, 30, 100, 300, 1000];

function orchestrationOptions(full: boolean): OrchestrationOptions {
  return {
    overheadRounds: full ? 8 : 4,
    scalingHospitals: full ? FULL_SCALING_HOSPITALS : QUICK_SCALING_HOSPITALS,
    maxRoundSeconds: full ? 3600 : 120,
    profileHospitals: 100,
    // Large K: one round, round 1 timed (first-use costs are small next to the round; quick mode stays under 5 min).
    singleRoundFromHospitals: full ? 1000 : 100,
    // Four `himas train` runs (A B B A over embedded and emulators) take about 5 minutes: --full and --only orchestration.
    emulatorRounds: full ? 4 : 0,
    log,
  };
}

/** A CPU profile of two epochs of training on the active backend, after one warm-up epoch. */
async function profileTraining(batchSize: number, rows: number) {
  const data = syntheticTrainingData(rows, BENCH_INPUT_DIM);
  const model = createModel({ kind: 'mlp', inputDim: BENCH_INPUT_DIM, hiddenUnits: BENCH_HIDDEN_UNITS }, 1);
  const options = { epochs: 1, batchSize, learningRate: 1e-3, random: new SeededRandom(5) };
  await trainLocally(model, data, options);
  try {
    return await profileWhile(() => trainLocally(model, data, { ...options, epochs: 2 }));
  } finally {
    model.dispose();
  }
}

/** `--only orchestration [--full] [--hospitals 300,1000|none] [--skip-emulators] [--timeout S] [--merge-into FILE]`: one suite, merged into a results file. */
async function runOrchestrationOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const full = argv.includes('--full');
  const started = Date.now();
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const hospitalsArg = value('--hospitals');
  const hospitals =
    hospitalsArg === undefined
      ? full
        ? FULL_SCALING_HOSPITALS
        : QUICK_SCALING_HOSPITALS
      : hospitalsArg === 'none'
        ? []
        : hospitalsArg.split(',').map(Number);
  if (hospitals.some((k) => !Number.isInteger(k) || k < 1))
    throw new Error(`--hospitals: expected a comma list of K or "none", got ${hospitalsArg}`);
  const file = path.resolve(value('--merge-into') ?? newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(
    `bench --only orchestration (${full ? 'full' : 'quick'}), K = ${hospitals.join(', ') || 'none'}, merging into ${path.relative(REPO, file)}`,
  );
  const orchestration = await benchOrchestration({
    ...orchestrationOptions(full),
    // --skip-emulators: only the K asked for; the merge keeps the emulator figure already in the file.
    emulatorRounds: argv.includes('--skip-emulators') ? 0 : 4,
    scalingHospitals: hospitals,
    // Asked-for K are run whatever the linear-growth guess says; the timeout bounds them instead.
    maxRoundSeconds: Infinity,
    scenarioTimeoutSeconds: Number(value('--timeout') ?? 1800),
  });
  // Read the file only now: the run takes minutes and another single-suite run may have merged meanwhile.
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged = mergeOrchestration(base, orchestration, {
    suite: 'orchestration',
    startedAt: new Date(started).toISOString(),
    mode: full ? 'full' : 'quick',
    durationSeconds: (Date.now() - started) / 1000,
    measured: describeOrchestrationRun(orchestration),
  });
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

/** `--only aggregation [--full] [--merge-into FILE]`: HIMAS vs numpy's floor and DP-FedAvg, replacing the file's table. */
async function runAggregationOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const full = argv.includes('--full');
  const started = Date.now();
  const i = argv.indexOf('--merge-into');
  const file = path.resolve(i >= 0 ? argv[i + 1] : newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only aggregation (${full ? 'full' : 'quick'}), merging into ${path.relative(REPO, file)}`);
  const aggregationPeers = await benchPeerTable({ maxTotal: full ? 1e8 : 3e7, log });
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    aggregationPeers,
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'aggregation',
        startedAt: new Date(started).toISOString(),
        mode: full ? 'full' : 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `aggregation kernels vs numpy floor and numpy DP-FedAvg at ${aggregationPeers.figures.length} (K, P) cases (replaces the run's kernel table)`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

// Issue 20's load: K = 100, every event twice, 10 % of the training jobs failing.
const DELIVERY_LOAD = { hospitals: 100, failureRate: 0.1, seed: 20 };

/** `--only delivery-load [--hospitals K] [--merge-into FILE]`: the load round, merged into a results file. */
async function runDeliveryLoadOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const started = Date.now();
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const hospitals = Number(value('--hospitals') ?? DELIVERY_LOAD.hospitals);
  if (!Number.isInteger(hospitals) || hospitals < 2)
    throw new Error(`--hospitals: expected K ≥ 2, got ${value('--hospitals')}`);
  const file = path.resolve(value('--merge-into') ?? newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only delivery-load, K = ${hospitals}, merging into ${path.relative(REPO, file)}`);
  const deliveryLoad = await benchDeliveryLoad({ ...DELIVERY_LOAD, hospitals });
  log(
    `delivery load K=${hospitals}: round closed in ${deliveryLoad.roundSeconds.toFixed(1)} s with ${deliveryLoad.participants} participants (right: ${deliveryLoad.rightParticipants})`,
  );
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    resilience: { ...base.resilience, deliveryLoad },
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'delivery-load',
        startedAt: new Date(started).toISOString(),
        mode: 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `one round at K = ${hospitals} with every event delivered twice and ${Math.round(100 * DELIVERY_LOAD.failureRate)} % of jobs failing`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

/** `--only quality-tuning [--merge-into FILE]`: issue 14's criteria run by run, into the file's quality section. */
async function runQualityTuningOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const started = Date.now();
  const i = argv.indexOf('--merge-into');
  const file = path.resolve(i >= 0 ? argv[i + 1] : newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only quality-tuning, merging into ${path.relative(REPO, file)}`);
  if (!(await activateBackend('wasm')).present) await activateBackend('cpu');
  const tuning = await benchQualityTuning(QUALITY_TUNING, log);
  // Read the file only now: the run takes minutes and another single-suite run may have merged meanwhile.
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    quality: { ...base.quality, tuning },
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'quality-tuning',
        startedAt: new Date(started).toISOString(),
        mode: 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `issue 14's criteria over ${tuning.checks.length} runs (${QUALITY_TUNING.preset})`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

/** `--only train-criteria [--merge-into FILE]`: issue 14's criteria through `himas train` itself. */
async function runTrainCriteriaOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const started = Date.now();
  const i = argv.indexOf('--merge-into');
  const file = path.resolve(i >= 0 ? argv[i + 1] : newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only train-criteria, merging into ${path.relative(REPO, file)}`);
  const trainCriteria = await benchTrainCriteria(TRAIN_CRITERIA, log);
  // Read the file only now: the run takes minutes and another single-suite run may have merged meanwhile.
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    quality: { ...base.quality, trainCriteria },
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'train-criteria',
        startedAt: new Date(started).toISOString(),
        mode: 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `issue 14's criteria through himas train, ${trainCriteria.runs.length} runs (${TRAIN_CRITERIA.preset})`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

/** `--only quality [--full] [--merge-into FILE]`: the quality suite, replacing the file's quality section. */
async function runQualityOnly(argv: string[]): Promise<{ results: BenchResults; file: string }> {
  const full = argv.includes('--full');
  const started = Date.now();
  const i = argv.indexOf('--merge-into');
  const file = path.resolve(i >= 0 ? argv[i + 1] : newestResultsFile());
  if (!fs.existsSync(file)) throw new Error(`${file}: no results file to merge into`);
  log(`bench --only quality (${full ? 'full' : 'quick'}), merging into ${path.relative(REPO, file)}`);
  // As the full run: the fastest present backend that is not the plain-JS one.
  if (!(await activateBackend('wasm')).present) await activateBackend('cpu');
  const presets = await benchQualityPresets(full);
  const strategies = await benchStrategyTable(full);
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...base,
    quality: {
      presets,
      strategies,
      pending: full ? [] : ['FedAdam on eicu-like and ε = 0.5, 3: --full only'],
    },
    mergedRuns: [
      ...(base.mergedRuns ?? []),
      {
        suite: 'quality',
        startedAt: new Date(started).toISOString(),
        mode: full ? 'full' : 'quick',
        durationSeconds: (Date.now() - started) / 1000,
        measured: `quality of ${presets.map((p) => p.settings.preset).join(' and ')} (replaces the run's quality section)`,
      },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  log(`merged into ${path.relative(REPO, file)}`);
  return { results: merged, file };
}

function describeOrchestrationRun(o: OrchestrationResult): string {
  const parts = [`embedded per-round overhead (K = ${o.overhead.hospitals})`];
  if (o.emulator?.measured) parts.push(`emulator per-round overhead (K = ${o.emulator.hospitals})`);
  if (o.scaling.length > 0) parts.push(`one round at K = ${o.scaling.map((s) => s.hospitals).join(', ')}`);
  if (o.skipped.length > 0) parts.push(`not finished: K = ${o.skipped.map((s) => s.hospitals).join(', ')}`);
  return parts.join('; ');
}

function newestResultsFile(): string {
  const dir = path.join(REPO, 'bench', 'results');
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}-\d{2}-\d{2}(-full)?\.json$/.test(f))
    .sort();
  if (files.length === 0)
    throw new Error('no bench/results/<date>.json to merge into: run `npm run bench` first');
  return path.join(dir, files[files.length - 1]);
}

async function main(argv: string[]): Promise<void> {
  const renderIndex = argv.indexOf('--render-only');
  let results: BenchResults;
  let file: string;
  if (renderIndex >= 0) {
    file = path.resolve(argv[renderIndex + 1] ?? '');
    results = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  } else if (argv.includes('--only')) {
    const suite = argv[argv.indexOf('--only') + 1];
    if (suite === 'quality') ({ results, file } = await runQualityOnly(argv));
    else if (suite === 'quality-tuning') ({ results, file } = await runQualityTuningOnly(argv));
    else if (suite === 'train-criteria') ({ results, file } = await runTrainCriteriaOnly(argv));
    else if (suite === 'orchestration') ({ results, file } = await runOrchestrationOnly(argv));
    else if (suite === 'double-masking') ({ results, file } = await runDoubleMaskingOnly(argv));
    else if (suite === 'dp-sgd') ({ results, file } = await runDpSgdOnly(argv));
    else if (suite === 'aggregation') ({ results, file } = await runAggregationOnly(argv));
    else if (suite === 'delivery-load') ({ results, file } = await runDeliveryLoadOnly(argv));
    else {
      log(
        `bench: --only supports "orchestration", "quality", "quality-tuning", "train-criteria", "double-masking", "dp-sgd", "aggregation" and "delivery-load", got ${suite}`,
      );
      process.exitCode = 2;
      return;
    }
  } else {
    const unknown = argv.filter((a) => a !== '--full');
    if (unknown.length > 0) {
      log(
        `bench: unknown argument ${unknown[0]}; usage: npm run bench [-- --full | --render-only FILE | --only orchestration [--hospitals K,K] [--skip-emulators] [--merge-into FILE] | --only quality [--full] [--merge-into FILE] | --only quality-tuning [--merge-into FILE] | --only train-criteria [--merge-into FILE] | --only double-masking [--full] [--merge-into FILE] | --only dp-sgd [--full] [--merge-into FILE] | --only aggregation [--full] [--merge-into FILE] | --only delivery-load [--hospitals K] [--merge-into FILE]]`,
      );
      process.exitCode = 2;
      return;
    }
    results = await run(argv.includes('--full'));
    file = path.join(
      REPO,
      'bench',
      'results',
      `${results.date}${results.mode === 'full' ? '-full' : ''}.json`,
    );
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${path.relative(REPO, file)}`);
  }
  const written = writeBenchmarkDocs(results, path.relative(REPO, file), REPO);
  for (const w of written) log(`wrote ${w}`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
