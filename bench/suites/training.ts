import * as tf from '@tensorflow/tfjs';
import {
  createModel,
  initializeBackend,
  trainLocally,
  trainLocallyWithDpSgd,
  type BackendName,
  type TrainingData,
} from '../../src/core/model';
import { SeededRandom } from '../../src/core/random/seeded-random';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { measureSideBySide, type TimingOptions } from '../harness';
import type { Summary } from '../statistics';

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
