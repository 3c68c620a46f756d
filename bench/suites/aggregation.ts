import { decodeUpdate, decodeUpdateWithDataView, encodeUpdate } from '../../src/core/codec/update-codec';
import {
  clipToNorm,
  dpFedAvg,
  fedAvg,
  type AggregationContext,
  type AggregationStrategy,
  type ClientUpdate,
} from '../../src/core/federated';
import { validateRound } from '../../src/core/federated/strategy';
import { previousDpFedAvgWeights, previousValidateUpdates } from './aggregation-previous';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { measure, measureSideBySide, type SideBySide, type TimingOptions } from '../harness';
import { mapSummary, type Summary } from '../statistics';

/** Clip norm C of the benchmark; deltas are drawn so that every other hospital is clipped. */
export const BENCH_CLIP_NORM = 1;
export const BENCH_NOISE_MULTIPLIER = 1;

export interface AggregationFigure {
  hospitals: number;
  params: number;
  /** Seconds of one DP-FedAvg aggregation (validate, clip, sum, noise, server step). */
  aggregateSeconds: Summary;
  /** Seconds of one read pass over the same K·P floats (the floor). */
  floorSeconds: Summary;
  /** K·P / median aggregate seconds. */
  paramsPerSecond: number;
  /** Floor time / aggregate time (1 = as fast as reading the updates once). */
  floorRatio: number;
  /** The floor ratio of each adjacent pair of runs. */
  floorRatioPairs: Summary;
  /** The pre-rewrite path (aggregation-previous.ts) in the same run, timed interleaved with the floor. */
  previous?: PreviousFigure;
}

/** The previous implementation's figure, measured side by side with the floor in the same process. */
export interface PreviousFigure {
  seconds: Summary;
  floorSeconds: Summary;
  paramsPerSecond: number;
  floorRatio: number;
  floorRatioPairs: Summary;
}

export interface DecodeFigure {
  hospitals: number;
  params: number;
  /** Seconds of decodeUpdate on K encoded blobs followed by the same aggregation. */
  decodeAndAggregateSeconds: Summary;
  floorSeconds: Summary;
  paramsPerSecond: number;
  floorRatio: number;
  floorRatioPairs: Summary;
  /** decodeUpdateWithDataView + the previous aggregation, interleaved with the floor. */
  previous?: PreviousFigure;
}

/** Median seconds of each step of one aggregation, timed separately with the exported pieces. */
export interface AggregationStages {
  hospitals: number;
  params: number;
  /** validateRound: checks plus every update's norm in one pass per update (since the rewrite). */
  validateSeconds: number;
  /** The previous validateUpdates: Number.isFinite on every value. */
  previousValidateSeconds?: number;
  /** clipToNorm on every update (norm + copy): the previous path's clip step. */
  clipSeconds: number;
  sumSeconds: number;
  noiseSeconds: number;
  serverStepSeconds: number;
  decodeSeconds: number;
  /** decodeUpdateWithDataView: the per-value decoder (the previous path, and big-endian hosts). */
  previousDecodeSeconds?: number;
  floorSeconds: number;
  /**
   * The same DP-FedAvg arithmetic written as two passes per update (norm, then scaled add into the
   * sum: no copy, no second validation) plus noise: a bench-only prototype of the cheap fix.
   */
  fusedSeconds: number;
}

/** Deterministic pseudo-random deltas (xorshift32): cheap to make, not a privacy concern here. */
export function makeUpdates(hospitals: number, params: number): ClientUpdate[] {
  let state = 0x9e3779b9;
  const updates: ClientUpdate[] = [];
  for (let k = 0; k < hospitals; k++) {
    // Uniform on [-a, a] has norm ≈ a·sqrt(P/3): 2 C for odd hospitals (clipped), C/2 for even ones.
    const a = (k % 2 === 1 ? 2 : 0.5) * BENCH_CLIP_NORM * Math.sqrt(3 / params);
    const delta = new Float32Array(params);
    for (let i = 0; i < params; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      delta[i] = ((state >>> 0) / 4294967296 - 0.5) * 2 * a;
    }
    updates.push({ hospitalId: `h${String(k).padStart(4, '0')}`, delta, numExamples: 100 + k });
  }
  return updates;
}

/**
 * The floor: one read pass over every float of every update. Four independent accumulators so the
 * loop is bound by loads, not by the latency of one chain of dependent additions.
 */
export function readPass(vectors: readonly Float32Array[]): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (const v of vectors) {
    const n = v.length - (v.length % 4);
    let i = 0;
    for (; i < n; i += 4) {
      s0 += v[i];
      s1 += v[i + 1];
      s2 += v[i + 2];
      s3 += v[i + 3];
    }
    for (; i < v.length; i++) s0 += v[i];
  }
  return s0 + s1 + s2 + s3;
}

/** The aggregator's strategy as the brief fixes it: DP-FedAvg around uniform FedAvg, eta = 1. */
export function benchStrategy(): AggregationStrategy {
  return dpFedAvg(fedAvg({ serverLearningRate: 1, weighting: 'uniform' }), {
    clipNorm: BENCH_CLIP_NORM,
    noiseMultiplier: BENCH_NOISE_MULTIPLIER,
  });
}

function context(hospitals: number, random: CryptoRandom): AggregationContext {
  return { round: 1, expectedHospitals: hospitals, enrolledHospitals: hospitals, random };
}

const previousOptions = {
  clipNorm: BENCH_CLIP_NORM,
  noiseMultiplier: BENCH_NOISE_MULTIPLIER,
  weighting: 'uniform' as const,
  eta: 1,
};

function previousFigure(totalParams: number, pair: SideBySide): PreviousFigure {
  return {
    seconds: pair.subject,
    floorSeconds: pair.baseline,
    paramsPerSecond: totalParams / pair.subject.median,
    floorRatio: pair.ratio,
    floorRatioPairs: pair.pairRatios,
  };
}

function secondsToParamsPerSecond(total: number): (seconds: number) => number {
  return (seconds) => total / seconds;
}

/** DP-FedAvg over K updates of P parameters, side by side with the read-pass floor. */
export async function benchAggregate(
  hospitals: number,
  params: number,
  timing: TimingOptions,
  updates: ClientUpdate[] = makeUpdates(hospitals, params),
): Promise<AggregationFigure> {
  const strategy = benchStrategy();
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const deltas = updates.map((u) => u.delta);
  const pair = await measureSideBySide(
    () => readPass(deltas),
    () => strategy.aggregate(global, updates, undefined, context(hospitals, random)).weights[0],
    timing,
  );
  const previous = await measureSideBySide(
    () => readPass(deltas),
    () => previousDpFedAvgWeights(global, updates, previousOptions, context(hospitals, random)).weights[0],
    timing,
  );
  return {
    hospitals,
    params,
    previous: previousFigure(hospitals * params, previous),
    aggregateSeconds: pair.subject,
    floorSeconds: pair.baseline,
    paramsPerSecond: secondsToParamsPerSecond(hospitals * params)(pair.subject.median),
    floorRatio: pair.ratio,
    floorRatioPairs: pair.pairRatios,
  };
}

/** The aggregator's full path from bytes: decodeUpdate on each encoded blob, then DP-FedAvg. */
export async function benchDecodeAndAggregate(
  hospitals: number,
  params: number,
  timing: TimingOptions,
  updates: ClientUpdate[] = makeUpdates(hospitals, params),
): Promise<DecodeFigure> {
  const strategy = benchStrategy();
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const blobs = updates.map((u) => ({ ...u, blob: encodeUpdate(u.delta) }));
  const deltas = updates.map((u) => u.delta);
  const pair = await measureSideBySide(
    () => readPass(deltas),
    () => {
      const decoded = blobs.map((b) => ({
        hospitalId: b.hospitalId,
        numExamples: b.numExamples,
        delta: decodeUpdate(b.blob).values as Float32Array,
      }));
      return strategy.aggregate(global, decoded, undefined, context(hospitals, random)).weights[0];
    },
    timing,
  );
  const previous = await measureSideBySide(
    () => readPass(deltas),
    () => {
      const decoded = blobs.map((b) => ({
        hospitalId: b.hospitalId,
        numExamples: b.numExamples,
        delta: decodeUpdateWithDataView(b.blob).values as Float32Array,
      }));
      return previousDpFedAvgWeights(global, decoded, previousOptions, context(hospitals, random)).weights[0];
    },
    timing,
  );
  return {
    hospitals,
    params,
    previous: previousFigure(hospitals * params, previous),
    decodeAndAggregateSeconds: pair.subject,
    floorSeconds: pair.baseline,
    paramsPerSecond: secondsToParamsPerSecond(hospitals * params)(pair.subject.median),
    floorRatio: pair.ratio,
    floorRatioPairs: pair.pairRatios,
  };
}

/**
 * Where one aggregation's time goes: each step DP-FedAvg performs, timed on its own (validateRound,
 * the scaled float64 sum, fillStandardNormal, the inner FedAvg step) plus decodeUpdate, next to the
 * floor; and the previous path's steps (per-value validate, clipToNorm's copy, DataView decode).
 */
export async function benchAggregationStages(
  hospitals: number,
  params: number,
  timing: TimingOptions,
  updates: ClientUpdate[] = makeUpdates(hospitals, params),
): Promise<AggregationStages> {
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const deltas = updates.map((u) => u.delta);
  const scales = updates.map((u) => clipToNorm(u.delta, BENCH_CLIP_NORM).scale);
  const blobs = updates.map((u) => encodeUpdate(u.delta));
  const inner = fedAvg({ serverLearningRate: 1, weighting: 'uniform' });
  const average = new Float32Array(params);
  const median = async (task: () => unknown) => (await measure(task, timing)).median;
  return {
    hospitals,
    params,
    floorSeconds: await median(() => readPass(deltas)),
    validateSeconds: await median(() => validateRound(global, updates).norms[0]),
    previousValidateSeconds: await median(() => previousValidateUpdates(global, updates).length),
    clipSeconds: await median(() => updates.map((u) => clipToNorm(u.delta, BENCH_CLIP_NORM).norm)),
    // The sum as dpFedAvg now does it: the clip scale folded in, fround(scale·delta) added in place.
    sumSeconds: await median(() => {
      const sum = new Float64Array(params);
      for (let k = 0; k < deltas.length; k++) {
        const d = deltas[k];
        const scale = scales[k];
        if (scale < 1) for (let i = 0; i < d.length; i++) sum[i] += Math.fround(d[i] * scale);
        else for (let i = 0; i < d.length; i++) sum[i] += d[i];
      }
      return sum[0];
    }),
    noiseSeconds: await median(() => {
      const noise = new Float64Array(params);
      random.fillStandardNormal(noise);
      return noise[0];
    }),
    serverStepSeconds: await median(
      () =>
        inner.aggregate(global, [{ hospitalId: 'avg', delta: average, numExamples: 1 }], undefined, {
          round: 1,
          expectedHospitals: 1,
          enrolledHospitals: 1,
        }).weights[0],
    ),
    decodeSeconds: await median(() => blobs.map((b) => decodeUpdate(b).values[0])),
    previousDecodeSeconds: await median(() => blobs.map((b) => decodeUpdateWithDataView(b).values[0])),
    fusedSeconds: await median(() => fusedDpFedAvg(global, deltas, random)[0]),
  };
}

/**
 * DP-FedAvg (uniform, eta = 1) in the fewest passes: per update one pass for the finite check and
 * norm together, one for sum += scale·delta; then noise and the step. Same result as the
 * strategy up to float rounding; a prototype of where src/core/federated could go, not used by it.
 */
export function fusedDpFedAvg(
  global: Float32Array,
  deltas: readonly Float32Array[],
  random: CryptoRandom,
): Float32Array {
  const n = global.length;
  const sum = new Float64Array(n);
  for (const delta of deltas) {
    let squares = 0;
    for (let i = 0; i < n; i++) squares += delta[i] * delta[i];
    if (!Number.isFinite(squares)) throw new Error('update has a non-finite value');
    const norm = Math.sqrt(squares);
    const scale = norm > BENCH_CLIP_NORM ? BENCH_CLIP_NORM / norm : 1;
    for (let i = 0; i < n; i++) sum[i] += scale * delta[i];
  }
  const noise = new Float64Array(n);
  random.fillStandardNormal(noise);
  const std = BENCH_NOISE_MULTIPLIER * BENCH_CLIP_NORM;
  const m = deltas.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = global[i] + (sum[i] + std * noise[i]) / m;
  return out;
}

/** Parameters per second as a spread: faster runs are the lower times. */
export function throughputSpread(hospitals: number, params: number, seconds: Summary): Summary {
  const s = mapSummary(seconds, secondsToParamsPerSecond(hospitals * params));
  // Throughput is decreasing in time: swap the order statistics back into ascending order.
  return { median: s.median, q1: s.q3, q3: s.q1, min: s.max, max: s.min, repeats: s.repeats };
}
