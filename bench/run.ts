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
import { benchQuality, QUICK_QUALITY } from './suites/quality';
import {
  activateBackend,
  BENCH_HIDDEN_UNITS,
  BENCH_INPUT_DIM,
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
  }

  const noise = await benchNoise(1_000_000, { warmup: 2, repeats: full ? 21 : 11 });
  log(`noise: CryptoRandom / Math.random Box–Muller throughput = ${noise.ratio.toFixed(2)}`);

  // Training per backend.
  const backends = [];
  const trainingFigures = [];
  const profiles = [];
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
  }
  // Quality uses the fastest present backend that is not the plain-JS one.
  await activateBackend(backends.some((b) => b.backend === 'wasm' && b.present) ? 'wasm' : 'cpu');
  const quality = await benchQuality(
    full ? { ...QUICK_QUALITY, seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } : QUICK_QUALITY,
  );
  log(
    `quality: pooled AUROC centralized ${quality.pooled.centralized.mean.toFixed(3)}, fedavg ${quality.pooled.fedavg.mean.toFixed(3)}`,
  );

  return {
    date: new Date(started).toISOString().slice(0, 10),
    startedAt: new Date(started).toISOString(),
    mode: full ? 'full' : 'quick',
    durationSeconds: (Date.now() - started) / 1000,
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
      skipped,
      pending: [
        'secure-aggregation unmasking (pairwise X25519 masks over fixed-point int32): not implemented yet',
        'Ed25519 signature checks on updates: not implemented yet',
      ],
    },
    noise,
    training: {
      flopsPerSample: trainingFlopsPerSample(BENCH_INPUT_DIM, BENCH_HIDDEN_UNITS),
      model: `MLP ${BENCH_INPUT_DIM}→${BENCH_HIDDEN_UNITS.join('→')}→1 (ReLU, sigmoid), Adam, trainLocally`,
      backends,
      figures: trainingFigures,
      profiles,
      pending: ['patient-level DP-SGD vs plain (the DP overhead ratio): added once DP-SGD lands'],
    },
    quality: {
      ...quality,
      pending: [
        'DP at several ε (patient level via DP-SGD; hospital level where meaningful): added once DP-SGD lands',
        'FedAdam / FedProx, the eicu-like preset, AUPRC and calibration: next version',
      ],
    },
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

async function main(argv: string[]): Promise<void> {
  const renderIndex = argv.indexOf('--render-only');
  let results: BenchResults;
  let file: string;
  if (renderIndex >= 0) {
    file = path.resolve(argv[renderIndex + 1] ?? '');
    results = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  } else {
    const unknown = argv.filter((a) => a !== '--full');
    if (unknown.length > 0) {
      log(`bench: unknown argument ${unknown[0]}; usage: npm run bench [-- --full | --render-only FILE]`);
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
