import * as tf from '@tensorflow/tfjs';
import type { DpEvent } from '../privacy/dp-event';
import { dpSgdPrivacyEvent, poissonSamplingPlan } from '../privacy/patient-level-plan';
import type { SecureRandom } from '../random/random';
import type { BatchSchedule } from './batching';
import { dpSgdGradientStep } from './dp-sgd-step';
import { fusedDenseLayout, trainDenseDpSgdFused } from './fused-dp-sgd-training';
import { runTrainingLoop, type LocalTrainingResult } from './local-training';
import { poissonSample } from './poisson-batches';
import { type TrainingData, assertInputWidth, validateTrainingData } from './training-data';

export interface DpSgdTrainingOptions {
  epochs: number;
  /** Expected batch size B; rows are Poisson-sampled with rate q = B/N. */
  batchSize: number;
  learningRate: number;
  /** Default 'adam' (applied to the privatised gradient, so it is post-processing). */
  optimizer?: 'adam' | 'sgd';
  /** FedProx's μ (see LocalTrainingOptions.proximalMu); data-independent, so added after the noise. */
  proximalMu?: number;
  /** C_example: per-example gradient clip norm. */
  exampleClipNorm: number;
  /** z: calibrate it before training with planPatientLevelDp. */
  noiseMultiplier: number;
  /**
   * The public size the plan used (the hospital's declared cohort size): q = batchSize / declared
   * and round(declared / batchSize) steps per epoch, so neither the accounting nor anything that
   * leaves the hospital depends on the exact number of rows. Defaults to the rows (tests).
   */
  declaredRows?: number;
  /**
   * Poisson sampling and dropout masks: secure and secret. Amplification by subsampling holds only
   * if nobody can rebuild who was sampled, so a seeded generator (whose seed is in the run config)
   * is refused.
   */
  random: SecureRandom;
  /** Gaussian noise: must be secure (CryptoRandom). */
  noiseRandom: SecureRandom;
  onEpoch?: (epoch: number, loss: number) => void;
  /**
   * 'auto' (default): the fused kernel (fused-dp-sgd-training.ts) when it covers the model, else
   * the tfjs path; 'tfjs': always the tfjs path (tests compare the two; the bench times both).
   * Same batches, noise, step and accounting either way.
   */
  kernel?: 'auto' | 'tfjs';
}

export interface DpSgdTrainingResult extends LocalTrainingResult {
  /** q = B / declared rows. */
  samplingProbability: number;
  /** What this call spent: SelfComposed(PoissonSampled(q, Gaussian(z)), steps), for the ledger. */
  privacyEvent: DpEvent;
  /** Which implementation ran: 'fused' (the dense kernel) or 'tfjs'. */
  kernel: 'fused' | 'tfjs';
}

/**
 * Patient-level DP-SGD on one hospital's rows (Abadi et al. 2016): Poisson-sampled batches,
 * per-example clipping to C, Gaussian noise z·C on each clipped sum, divided by the expected batch.
 *
 * Its own loop rather than runTrainingLoop, which skips empty batches: under Poisson sampling an
 * empty batch must still count as a step and still release noise, or whether it happened leaks.
 * Every step is counted in `steps` and in `privacyEvent`.
 */
export async function trainLocallyWithDpSgd(
  model: tf.LayersModel,
  data: TrainingData,
  options: DpSgdTrainingOptions,
): Promise<DpSgdTrainingResult> {
  validateTrainingOptions(options);
  validateTrainingData(data);
  assertInputWidth(model.inputs[0].shape, data.cols);
  if ((options.random as { secure?: unknown } | undefined)?.secure !== true)
    throw new TypeError(
      'DP-SGD sampling needs a SecureRandom (node:crypto): a seeded generator would let anyone rebuild every batch and void the amplification by subsampling',
    );
  const declared = options.declaredRows ?? data.rows;
  const { samplingProbability, stepsPerEpoch } = poissonSamplingPlan(declared, options.batchSize);
  // q times the public size: the divisor must not depend on who (or how many) are in the data.
  const expectedBatchSize = samplingProbability * declared;
  // Every row of the real data joins each of the plan's steps with probability q.
  const schedule: BatchSchedule = (rows, _batchSize, random) =>
    Array.from({ length: stepsPerEpoch }, () => poissonSample(rows, samplingProbability, random));
  // Built on both paths: it validates C, z and the noise source.
  const step = dpSgdGradientStep({
    exampleClipNorm: options.exampleClipNorm,
    noiseMultiplier: options.noiseMultiplier,
    expectedBatchSize,
    noiseRandom: options.noiseRandom,
  });
  const layout = options.kernel === 'tfjs' ? null : fusedDenseLayout(model);
  const fused = layout !== null && !('unsupported' in layout) ? layout : null;
  const { epochLosses, steps, examples } = fused
    ? await trainDenseDpSgdFused(model, fused, data, { ...options, expectedBatchSize, schedule })
    : await runTrainingLoop(model, data, options, step, schedule, 'step');
  return {
    epochLosses,
    steps,
    examples,
    samplingProbability,
    privacyEvent: dpSgdPrivacyEvent(samplingProbability, options.noiseMultiplier, steps),
    kernel: fused ? 'fused' : 'tfjs',
  };
}

function validateTrainingOptions(options: DpSgdTrainingOptions): void {
  const { epochs, batchSize, learningRate, optimizer, proximalMu, kernel } = options;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new RangeError(`epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(learningRate > 0 && Number.isFinite(learningRate)))
    throw new RangeError(`learningRate must be finite and > 0, got ${learningRate}`);
  if (optimizer !== undefined && optimizer !== 'adam' && optimizer !== 'sgd')
    throw new RangeError(`optimizer must be 'adam' or 'sgd', got '${String(optimizer)}'`);
  if (proximalMu !== undefined && !(proximalMu >= 0 && Number.isFinite(proximalMu)))
    throw new RangeError(`proximalMu must be finite and >= 0, got ${proximalMu}`);
  if (kernel !== undefined && kernel !== 'auto' && kernel !== 'tfjs')
    throw new RangeError(`kernel must be 'auto' or 'tfjs', got '${String(kernel)}'`);
}
