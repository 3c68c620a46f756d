import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  createModel,
  fusedDenseLayout,
  getFlatWeights,
  initializeBackend,
  trainLocally,
  trainLocallyWithDpSgd,
  type BackendName,
  type ModelSpec,
  type TrainingData,
} from '../../src/core/model';
import { poissonSamplingPlan } from '../../src/core/privacy/patient-level-plan';
import { SeededRandom } from '../../src/core/random/seeded-random';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { consume, measureSideBySide, timeOnce, type TimingOptions } from '../harness';
import { median, summarize, type Summary } from '../statistics';
import type { DpSgdNumpyResult } from '../results';
import { NumpyReference, type NumpyStatus, type NumpyVariant } from './dp-sgd-numpy';

/**
 * The numpy runs timed against HIMAS: both variants with numpy's own BLAS threading, and the ghost
 * variant with OpenBLAS held to one thread (on a loaded 2-core machine threaded BLAS can lose to
 * one thread; the ratio is taken against whichever is fastest, so numpy is never held back).
 */
export const NUMPY_RUNS = [
  { key: 'materialised', variant: 'materialised', blasThreads: undefined },
  { key: 'ghost', variant: 'ghost', blasThreads: undefined },
  { key: 'ghost-1-thread', variant: 'ghost', blasThreads: 1 },
] as const satisfies ReadonlyArray<{ key: string; variant: NumpyVariant; blasThreads: number | undefined }>;
export type NumpyRunKey = (typeof NUMPY_RUNS)[number]['key'];

export const BENCH_INPUT_DIM = 32;
export const BENCH_HIDDEN_UNITS = [64, 32];
/** Square matrices of the matmul baseline: big enough to be compute-bound on every backend. */
const MATMUL_SIZE = 256;

export interface BackendStatus {
  backend: BackendName;
  present: boolean;
  /** Why it could not be activated. */
  reason?: string;
  /** tfjs flags that bound the wasm backend (threads, SIMD). */
  flags?: Record<string, boolean>;
}

export interface TrainingFigure {
  backend: BackendName;
  batchSize: number;
  /** Rows per timed epoch. */
  rows: number;
  epochSeconds: Summary;
  samplesPerSecond: number;
  /** FLOPs per sample × samples per second. */
  gflops: number;
  /** gflops / the machine's estimated peak. */
  fractionOfPeak: number;
  /** Throughput of a large matmul on the same backend, timed side by side (what the backend can do). */
  matmulGflops: number;
  /** Training GFLOP/s / matmul GFLOP/s: how much of the backend's own speed training reaches. */
  ratioToMatmul: number;
  ratioPairs: Summary;
}

/**
 * FLOPs per training sample of a dense chain: forward 2·Σ in·out (one multiply-add per weight),
 * backward ≈ 2 × forward (gradients with respect to inputs and to weights), so ≈ 3 × forward.
 * Activations, the loss and the optimizer's per-weight update (amortised over the batch) are
 * left out: they are O(units), not O(weights).
 */
export function trainingFlopsPerSample(
  inputDim: number,
  hiddenUnits: readonly number[],
): {
  forward: number;
  training: number;
} {
  const widths = [inputDim, ...hiddenUnits, 1];
  let forward = 0;
  for (let i = 0; i + 1 < widths.length; i++) forward += 2 * widths[i] * widths[i + 1];
  return { forward, training: 3 * forward };
}

/** Standard-normal features with a logistic rule for labels (seeded), shaped as the model wants. */
export function syntheticTrainingData(rows: number, cols: number, seed = 7): TrainingData {
  const random = new SeededRandom(seed);
  const features = new Float32Array(rows * cols);
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let logit = -2;
    for (let c = 0; c < cols; c++) {
      const u = Math.max(random.nextDouble(), 1e-12);
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
      features[r * cols + c] = z;
      if (c < 4) logit += 0.8 * z;
    }
    labels[r] = random.nextDouble() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { features, labels, rows, cols };
}

export async function activateBackend(backend: BackendName): Promise<BackendStatus> {
  try {
    await initializeBackend(backend);
    const flags: Record<string, boolean> = {};
    if (backend === 'wasm') {
      for (const flag of ['WASM_HAS_SIMD_SUPPORT', 'WASM_HAS_MULTITHREAD_SUPPORT']) {
        flags[flag] = tf.env().getBool(flag);
      }
    }
    return { backend, present: true, flags };
  } catch (e) {
    return { backend, present: false, reason: (e as Error).message.split('\n')[0] };
  }
}

/**
 * Samples per second of trainLocally (one epoch per timed run) on the active backend, side by side
 * with a MATMUL_SIZE³ matmul on the same backend.
 */
export async function benchTraining(
  backend: BackendName,
  batchSize: number,
  rows: number,
  peakGflops: number,
  timing: TimingOptions,
): Promise<TrainingFigure> {
  const data = syntheticTrainingData(rows, BENCH_INPUT_DIM);
  const model = createModel({ kind: 'mlp', inputDim: BENCH_INPUT_DIM, hiddenUnits: BENCH_HIDDEN_UNITS }, 1);
  const random = new SeededRandom(11);
  const a = tf.randomNormal([MATMUL_SIZE, MATMUL_SIZE], 0, 1, 'float32', 1);
  const b = tf.randomNormal([MATMUL_SIZE, MATMUL_SIZE], 0, 1, 'float32', 2);
  const matmulsPerRun = 4;
  const flops = trainingFlopsPerSample(BENCH_INPUT_DIM, BENCH_HIDDEN_UNITS).training;
  try {
    const pair = await measureSideBySide(
      () => {
        let last = 0;
        for (let i = 0; i < matmulsPerRun; i++) last = tf.tidy(() => tf.matMul(a, b).dataSync()[0]);
        return last;
      },
      async () =>
        (await trainLocally(model, data, { epochs: 1, batchSize, learningRate: 1e-3, random })).steps,
      {
        ...timing,
        baselineWork: matmulsPerRun * 2 * MATMUL_SIZE ** 3,
        subjectWork: rows * flops,
      },
    );
    const samplesPerSecond = rows / pair.subject.median;
    const gflops = (samplesPerSecond * flops) / 1e9;
    return {
      backend,
      batchSize,
      rows,
      epochSeconds: pair.subject,
      samplesPerSecond,
      gflops,
      fractionOfPeak: gflops / peakGflops,
      matmulGflops: (matmulsPerRun * 2 * MATMUL_SIZE ** 3) / pair.baseline.median / 1e9,
      ratioToMatmul: pair.ratio,
      ratioPairs: pair.pairRatios,
    };
  } finally {
    a.dispose();
    b.dispose();
    model.dispose();
  }
}

export interface DpSgdFigure {
  backend: BackendName;
  batchSize: number;
  rows: number;
  /** One epoch of trainLocally (shuffled batches, plain gradients). */
  plainEpochSeconds: Summary;
  /** One epoch of trainLocallyWithDpSgd (Poisson batches, per-example clipping, Gaussian noise). */
  dpEpochSeconds: Summary;
  plainSamplesPerSecond: number;
  dpSamplesPerSecond: number;
  /** DP-SGD throughput / plain throughput (the DP overhead ratio; 1 = free). */
  ratio: number;
  ratioPairs: Summary;
  exampleClipNorm: number;
  noiseMultiplier: number;
}

/** Patient-level DP-SGD vs plain training on the active backend, one epoch each, timed interleaved. */
export async function benchDpSgd(
  backend: BackendName,
  batchSize: number,
  rows: number,
  timing: TimingOptions,
): Promise<DpSgdFigure> {
  const data = syntheticTrainingData(rows, BENCH_INPUT_DIM);
  const spec = { kind: 'mlp' as const, inputDim: BENCH_INPUT_DIM, hiddenUnits: BENCH_HIDDEN_UNITS };
  const plainModel = createModel(spec, 1);
  const dpModel = createModel(spec, 1);
  const random = new SeededRandom(11);
  const noiseRandom = new CryptoRandom();
  const exampleClipNorm = 1;
  const noiseMultiplier = 1;
  try {
    const pair = await measureSideBySide(
      async () =>
        (await trainLocally(plainModel, data, { epochs: 1, batchSize, learningRate: 1e-3, random })).steps,
      async () =>
        (
          await trainLocallyWithDpSgd(dpModel, data, {
            epochs: 1,
            batchSize,
            learningRate: 1e-3,
            exampleClipNorm,
            noiseMultiplier,
            random: noiseRandom,
            noiseRandom,
          })
        ).steps,
      timing,
    );
    return {
      backend,
      batchSize,
      rows,
      plainEpochSeconds: pair.baseline,
      dpEpochSeconds: pair.subject,
      plainSamplesPerSecond: rows / pair.baseline.median,
      dpSamplesPerSecond: rows / pair.subject.median,
      ratio: pair.ratio,
      ratioPairs: pair.pairRatios,
      exampleClipNorm,
      noiseMultiplier,
    };
  } finally {
    plainModel.dispose();
    dpModel.dispose();
  }
}

/** The shapes DP-SGD is compared with numpy on: the default recipe's logistic model first. */
export const DP_SGD_NUMPY_CASES: ReadonlyArray<{ label: string; spec: ModelSpec; batchSizes: number[] }> = [
  {
    label: 'logistic 24→1 (default DP-SGD recipe)',
    spec: { kind: 'logistic', inputDim: 24 },
    batchSizes: [64, 128, 256, 1024],
  },
  { label: 'MLP 24→16→1', spec: { kind: 'mlp', inputDim: 24, hiddenUnits: [16] }, batchSizes: [128, 1024] },
  {
    label: 'MLP 24→64→32→1',
    spec: { kind: 'mlp', inputDim: 24, hiddenUnits: [64, 32] },
    batchSizes: [128, 1024],
  },
];

export interface DpSgdNumpyFigure {
  model: string;
  backend: BackendName;
  batchSize: number;
  rows: number;
  stepsPerEpoch: number;
  exampleClipNorm: number;
  noiseMultiplier: number;
  /** Epoch seconds: HIMAS as it runs (fused kernel where it covers the model). */
  himas: Summary;
  /** Which implementation `himas` used. */
  himasKernel: 'fused' | 'tfjs';
  /** HIMAS's tfjs path on the same model (the implementation before the fused kernel). */
  tfjs: Summary;
  /** numpy reference epochs, per variant (absent when python3/numpy are). */
  numpy: Partial<Record<NumpyRunKey, Summary>>;
  himasSamplesPerSecond: number;
  tfjsSamplesPerSecond: number;
  numpySamplesPerSecond: Partial<Record<NumpyRunKey, number>>;
  /** HIMAS / the faster numpy variant (medians); null without numpy. */
  ratioToNumpy: number | null;
  /** The same ratio per interleaved repeat. */
  ratioPairs: Summary | null;
  /** Which numpy variant was the faster (the reference the ratio is taken against). */
  numpyReference: NumpyRunKey | null;
  /**
   * The same ratio on CPU seconds (each process's own, numpy's over all its threads): less moved by
   * other jobs on a shared machine, which stretch wall time, not CPU time.
   */
  cpuRatioToNumpy: number | null;
  repeats: number;
}

/**
 * One DP-SGD epoch of trainLocallyWithDpSgd (as the hospital job runs it: Poisson sampling and
 * noise from CryptoRandom, Adam) against the numpy reference of the same epoch, and against HIMAS's
 * own tfjs path, all on the same rows, timed interleaved (order reversed every other repeat).
 * numpy's seconds are measured inside its process (pipe latency excluded).
 */
export async function benchDpSgdVsNumpy(
  label: string,
  spec: ModelSpec,
  backend: BackendName,
  batchSize: number,
  rows: number,
  timing: TimingOptions,
): Promise<{ figure: DpSgdNumpyFigure; numpy: NumpyStatus }> {
  const data = syntheticTrainingData(rows, spec.inputDim);
  const exampleClipNorm = 3;
  const noiseMultiplier = 1;
  const learningRate = 0.01;
  const fusedModel = createModel(spec, 1);
  const tfjsModel = createModel(spec, 1);
  const layout = fusedDenseLayout(fusedModel);
  if ('unsupported' in layout)
    throw new Error(`bench model not covered by the fused kernel: ${layout.unsupported}`);
  const { samplingProbability, stepsPerEpoch } = poissonSamplingPlan(rows, batchSize);
  const referenceConfig = {
    features: data.features,
    labels: data.labels,
    rows,
    cols: spec.inputDim,
    weights: getFlatWeights(fusedModel),
    layout,
    samplingProbability,
    stepsPerEpoch,
    expectedBatchSize: samplingProbability * rows,
    exampleClipNorm,
    noiseMultiplier,
    learningRate,
    l2: layout.layers[0].kernelL2,
  };
  const threaded = await NumpyReference.start(referenceConfig);
  const single =
    threaded instanceof NumpyReference
      ? await NumpyReference.start(referenceConfig, { blasThreads: 1 })
      : null;
  const references = [threaded, single].filter((r): r is NumpyReference => r instanceof NumpyReference);
  const numpy = threaded instanceof NumpyReference ? threaded.status : (threaded as NumpyStatus);
  const referenceFor = (blasThreads: number | undefined) =>
    blasThreads === undefined
      ? threaded instanceof NumpyReference
        ? threaded
        : null
      : single instanceof NumpyReference
        ? single
        : null;
  let himasKernel: 'fused' | 'tfjs' = 'fused';
  const dpEpoch = (model: tf.LayersModel, kernel: 'auto' | 'tfjs') => async () => {
    const random = new CryptoRandom();
    const result = await trainLocallyWithDpSgd(model, data, {
      epochs: 1,
      batchSize,
      learningRate,
      exampleClipNorm,
      noiseMultiplier,
      random,
      noiseRandom: random,
      kernel,
    });
    if (kernel === 'auto') himasKernel = result.kernel;
    return result.steps;
  };
  /** Wall and CPU seconds of one epoch. */
  type Task = () => Promise<[number, number]>;
  const inProcess = (task: () => Promise<number>) => async (): Promise<[number, number]> => {
    const cpu = process.cpuUsage();
    const wall = await timeOnce(task);
    const used = process.cpuUsage(cpu);
    return [wall, (used.user + used.system) / 1e6];
  };
  const tasks: Array<[string, Task]> = [
    ['himas', inProcess(dpEpoch(fusedModel, 'auto'))],
    ['tfjs', inProcess(dpEpoch(tfjsModel, 'tfjs'))],
    ...NUMPY_RUNS.flatMap((run): Array<[string, Task]> => {
      const reference = referenceFor(run.blasThreads);
      if (!reference) return [];
      return [
        [
          run.key,
          async () => {
            const epoch = await reference.epoch(run.variant);
            consume(epoch.examples);
            return [epoch.seconds, epoch.cpuSeconds];
          },
        ],
      ];
    }),
  ];
  const seconds = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  const cpuSeconds = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  try {
    const minWarmup = timing.minWarmupSeconds ?? 0.2;
    let warmed = 0;
    for (let i = 0; i < Math.max(1, timing.warmup) || (warmed < minWarmup && i < 50); i++)
      for (const [, task] of tasks) warmed += (await task())[0];
    for (let i = 0; i < timing.repeats; i++) {
      const order = i % 2 === 0 ? tasks : [...tasks].reverse();
      for (const [name, task] of order) {
        const [wall, cpu] = await task();
        seconds.get(name)!.push(wall);
        cpuSeconds.get(name)!.push(cpu);
      }
    }
  } finally {
    for (const reference of references) await reference.close();
    fusedModel.dispose();
    tfjsModel.dispose();
  }
  const himas = summarize(seconds.get('himas')!);
  const tfjs = summarize(seconds.get('tfjs')!);
  const numpySummaries: DpSgdNumpyFigure['numpy'] = {};
  const numpyRates: DpSgdNumpyFigure['numpySamplesPerSecond'] = {};
  for (const { key: v } of NUMPY_RUNS) {
    const s = seconds.get(v);
    if (!s) continue;
    numpySummaries[v] = summarize(s);
    numpyRates[v] = rows / numpySummaries[v].median;
  }
  // The stronger reference: the faster numpy variant, repeat by repeat for the pair ratios.
  const best = NUMPY_RUNS.map((r) => r.key)
    .filter((v) => numpySummaries[v])
    .sort((a, b) => numpySummaries[a]!.median - numpySummaries[b]!.median)[0];
  const pairs = best ? seconds.get('himas')!.map((t, i) => seconds.get(best)![i] / t) : null;
  return {
    numpy,
    figure: {
      model: label,
      backend,
      batchSize,
      rows,
      stepsPerEpoch,
      exampleClipNorm,
      noiseMultiplier,
      himas,
      himasKernel,
      tfjs,
      numpy: numpySummaries,
      himasSamplesPerSecond: rows / himas.median,
      tfjsSamplesPerSecond: rows / tfjs.median,
      numpySamplesPerSecond: numpyRates,
      ratioToNumpy: best ? numpySummaries[best]!.median / himas.median : null,
      ratioPairs: pairs ? summarize(pairs) : null,
      numpyReference: best ?? null,
      cpuRatioToNumpy: best ? median(cpuSeconds.get(best)!) / median(cpuSeconds.get('himas')!) : null,
      repeats: timing.repeats,
    },
  };
}

/**
 * Every case of DP_SGD_NUMPY_CASES on the wasm backend (cpu if wasm is absent), for the results
 * file's `training.dpSgdNumpy`. Without python3/numpy the HIMAS columns are still measured and the
 * reason is kept.
 */
export async function benchDpSgdNumpyTable(
  full: boolean,
  log: (line: string) => void,
): Promise<DpSgdNumpyResult> {
  const backend: BackendName = (await activateBackend('wasm')).present ? 'wasm' : 'cpu';
  if (backend === 'cpu') await activateBackend('cpu');
  const loadAtStart = os.loadavg()[0];
  const figures: DpSgdNumpyFigure[] = [];
  let numpy: NumpyStatus = { present: false, reason: 'no case ran' };
  for (const c of DP_SGD_NUMPY_CASES) {
    for (const batchSize of c.batchSizes) {
      const run = await benchDpSgdVsNumpy(c.label, c.spec, backend, batchSize, full ? 16384 : 8192, {
        warmup: 1,
        repeats: full ? 11 : 7,
      });
      numpy = run.numpy;
      const f = run.figure;
      figures.push(f);
      log(
        `DP-SGD vs numpy, ${c.label}, batch ${batchSize}: HIMAS ${f.himasSamplesPerSecond.toFixed(0)} samples/s (${f.himasKernel}), ` +
          `tfjs path ${f.tfjsSamplesPerSecond.toFixed(0)}, ` +
          (f.ratioToNumpy === null
            ? `numpy not run: ${numpy.reason}`
            : `${f.ratioToNumpy.toFixed(2)} × numpy ${f.numpyReference} (CPU-time ratio ${f.cpuRatioToNumpy?.toFixed(2)})`),
      );
    }
  }
  return { numpy, backend, loadAverage: [loadAtStart, os.loadavg()[0]], figures };
}
