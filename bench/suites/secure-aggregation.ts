import { randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import { encodeUpdate } from '../../src/core/codec/update-codec';
import { clipToNorm, type ClientUpdate } from '../../src/core/federated';
import {
  chooseFixedPointScale,
  encodeFixedPoint,
  removeDropoutMasks,
  unmaskAverage,
  type FixedPointParameters,
  type MaskedRound,
  type RevealedSeed,
} from '../../src/core/secure-aggregation';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import {
  aesCtrSeedExpander,
  generateMaskingKeyPair,
  maskUpdate,
} from '../../src/runtime/secure-aggregation-crypto';
import {
  generateSigningKeyPair,
  signUpdate,
  verifyUpdateSignature,
  type SignedUpdateFields,
} from '../../src/runtime/update-signing';
import { measureSideBySide, type TimingOptions } from '../harness';
import type { Summary } from '../statistics';
import { BENCH_CLIP_NORM, BENCH_NOISE_MULTIPLIER, benchStrategy, makeUpdates, readPass } from './aggregation';

/** One measured subject next to the read-pass floor over the same K·P values. */
export interface FloorFigure {
  seconds: Summary;
  floorSeconds: Summary;
  /** K·P / median seconds. */
  paramsPerSecond: number;
  /** Floor time / subject time (1 = as fast as reading every value once). */
  floorRatio: number;
  floorRatioPairs: Summary;
}

export interface SecureAggregationFigure {
  hospitals: number;
  params: number;
  /** Fixed-point scale used (a power of two, from chooseFixedPointScale(C, K)). */
  fixedPointScale: number;
  /** Aggregator: modular sum of K masked int32 vectors + decode to the float average (no dropout). */
  unmask: FloorFigure;
  /** Aggregator, secure DP-FedAvg: unmask + decode + Gaussian noise z·C/m + server step. */
  secureDpFedAvg: FloorFigure;
  /** Dropout recovery for ONE dropped hospital: expand K−1 revealed seeds (AES-CTR) and subtract them. */
  dropoutRecovery: FloorFigure;
  /** Aggregator: Ed25519 verification of K updates over their float32 blobs (SHA-256 of each blob). */
  verify: FloorFigure;
  /** Aggregator: verify K signatures, then DP-FedAvg over the same updates. */
  verifyAndDpFedAvg: FloorFigure;
}

/** Hospital side: one update masked against K−1 peers vs the plain float32 encoding of it. */
export interface MaskingFigure {
  hospitals: number;
  params: number;
  /** maskUpdate: K−1 X25519 agreements + HKDF, K−1 AES-CTR expansions of P words, fixed point, adds. */
  maskSeconds: Summary;
  /** encodeUpdate of the same float32 update (what a hospital sends without secure aggregation). */
  plainEncodeSeconds: Summary;
  /** Masking throughput / plain encoding throughput (1 = free; 0.01 = 100 × the time). */
  ratio: number;
  ratioPairs: Summary;
}

function floorFigure(total: number, pair: Awaited<ReturnType<typeof measureSideBySide>>): FloorFigure {
  return {
    seconds: pair.subject,
    floorSeconds: pair.baseline,
    paramsPerSecond: total / pair.subject.median,
    floorRatio: pair.ratio,
    floorRatioPairs: pair.pairRatios,
  };
}

/**
 * What the aggregator receives under secure aggregation, without paying K·(K−1) mask expansions to
 * build it: y_k = x_k + r_k mod 2^32 with r_0..r_{K−2} uniform (node:crypto) and r_{K−1} = −Σ r.
 * Every y_k is uniform on its own and the masks cancel in the sum, exactly as pairwise masks do;
 * the aggregator's work depends only on the bytes, so its cost is the same. x_k is the real
 * fixed-point encoding of the clipped update. The hospital side is timed with the real maskUpdate.
 */
export function syntheticMaskedUpdates(encoded: readonly Int32Array[]): Int32Array[] {
  const length = encoded[0]?.length ?? 0;
  const total = new Int32Array(length);
  return encoded.map((x, k) => {
    const mask = new Int32Array(length);
    if (k < encoded.length - 1) {
      randomFillSync(mask);
      for (let i = 0; i < length; i++) total[i] = (total[i] + mask[i]) | 0;
    } else for (let i = 0; i < length; i++) mask[i] = -total[i] | 0;
    for (let i = 0; i < length; i++) mask[i] = (mask[i] + x[i]) | 0;
    return mask;
  });
}

/** The secure aggregator's step after unmasking: average + N(0, (z·C/m)²) noise, server step η = 1. */
export function secureDpFedAvgStep(
  global: Float32Array,
  round: MaskedRound,
  params: FixedPointParameters,
  hospitals: number,
  random: CryptoRandom,
): Float32Array {
  const average = unmaskAverage(round, aesCtrSeedExpander, params, hospitals);
  const noise = new Float64Array(average.length);
  random.fillStandardNormal(noise);
  const std = (BENCH_NOISE_MULTIPLIER * BENCH_CLIP_NORM) / hospitals;
  const out = new Float32Array(average.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i] + average[i] + std * noise[i];
  return out;
}

/** The aggregator's view of a masked round with every update in (see syntheticMaskedUpdates). */
export function maskedRound(updates: readonly ClientUpdate[]): {
  fixedPoint: FixedPointParameters;
  round: MaskedRound;
  masked: Int32Array[];
} {
  const fixedPoint = chooseFixedPointScale(BENCH_CLIP_NORM, updates.length);
  const encoded = updates.map((u) =>
    encodeFixedPoint(clipToNorm(u.delta, BENCH_CLIP_NORM).clipped, fixedPoint),
  );
  const masked = syntheticMaskedUpdates(encoded);
  const ids = updates.map((u) => u.hospitalId);
  const round: MaskedRound = {
    participants: ids,
    maskedUpdates: new Map(ids.map((id, k) => [id, masked[k]])),
    revealedSeeds: [],
    length: updates[0]?.delta.length ?? 0,
  };
  return { fixedPoint, round, masked };
}

export interface SignedUpdates {
  fields: SignedUpdateFields[];
  signatures: string[];
  keys: Map<string, KeyObject>;
}

/** Encodes and signs every update (or the given blobs) with its own Ed25519 key, as hospital jobs do. */
export function signUpdates(updates: readonly ClientUpdate[], blobs?: readonly Uint8Array[]): SignedUpdates {
  const keys = new Map<string, KeyObject>();
  const fields: SignedUpdateFields[] = [];
  const signatures: string[] = [];
  for (const [k, u] of updates.entries()) {
    const pair = generateSigningKeyPair();
    keys.set(u.hospitalId, pair.publicKey);
    const f: SignedUpdateFields = {
      runId: 'bench',
      round: 1,
      hospitalId: u.hospitalId,
      baseModelVersionId: 'bench-r0000',
      numExamples: u.numExamples,
      blob: blobs?.[k] ?? encodeUpdate(u.delta),
    };
    fields.push(f);
    signatures.push(signUpdate(f, pair.privateKey));
  }
  return { fields, signatures, keys };
}

export function verifyAll(signed: SignedUpdates): number {
  let ok = 0;
  for (let k = 0; k < signed.fields.length; k++) {
    const check = verifyUpdateSignature(signed.fields[k], signed.signatures[k], signed.keys);
    if (!check.ok) throw new Error(check.reason);
    ok++;
  }
  return ok;
}

/** The aggregator's costs under secure aggregation and signature checks, each next to the floor. */
export async function benchSecureAggregation(
  hospitals: number,
  params: number,
  timing: TimingOptions,
  updates: ClientUpdate[] = makeUpdates(hospitals, params),
): Promise<SecureAggregationFigure> {
  const total = hospitals * params;
  const deltas = updates.map((u) => u.delta);
  const floor = () => readPass(deltas);
  const { fixedPoint, round } = maskedRound(updates);
  const ids = updates.map((u) => u.hospitalId);
  // One dropped hospital (the last): every survivor reveals its 32-byte pair seed with it.
  const dropped = ids[ids.length - 1];
  const revealed: RevealedSeed[] = ids
    .slice(0, -1)
    .map((survivorId) => ({ survivorId, droppedId: dropped, seed: new Uint8Array(randomBytes(32)) }));
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const strategy = benchStrategy();
  const context = { round: 1, expectedHospitals: hospitals, enrolledHospitals: hospitals, random };
  const signed = signUpdates(updates);
  const sum = new Int32Array(params);

  const unmask = await measureSideBySide(
    floor,
    () => unmaskAverage(round, aesCtrSeedExpander, fixedPoint, hospitals)[0],
    timing,
  );
  const secure = await measureSideBySide(
    floor,
    () => secureDpFedAvgStep(global, round, fixedPoint, hospitals, random)[0],
    timing,
  );
  const recovery = await measureSideBySide(
    floor,
    () => {
      removeDropoutMasks(sum, revealed, aesCtrSeedExpander);
      return sum[0];
    },
    timing,
  );
  const verify = await measureSideBySide(floor, () => verifyAll(signed), timing);
  const verifyAndAggregate = await measureSideBySide(
    floor,
    () => {
      verifyAll(signed);
      return strategy.aggregate(global, updates, undefined, context).weights[0];
    },
    timing,
  );
  return {
    hospitals,
    params,
    fixedPointScale: fixedPoint.scale,
    unmask: floorFigure(total, unmask),
    secureDpFedAvg: floorFigure(total, secure),
    dropoutRecovery: floorFigure(total, recovery),
    verify: floorFigure(total, verify),
    verifyAndDpFedAvg: floorFigure(total, verifyAndAggregate),
  };
}

/** Hospital side: the real maskUpdate against K−1 enrolled peers vs encodeUpdate of the same update. */
export async function benchMasking(
  hospitals: number,
  params: number,
  timing: TimingOptions,
): Promise<MaskingFigure> {
  const update = clipToNorm(makeUpdates(2, params)[1].delta, BENCH_CLIP_NORM).clipped;
  const self = generateMaskingKeyPair();
  const peers = Array.from({ length: hospitals - 1 }, (_, k) => ({
    hospitalId: `h${String(k + 1).padStart(4, '0')}`,
    publicKey: generateMaskingKeyPair().publicKey,
  }));
  const fixedPoint = chooseFixedPointScale(BENCH_CLIP_NORM, hospitals);
  const pair = await measureSideBySide(
    () => encodeUpdate(update).length,
    () =>
      maskUpdate({
        runId: 'bench',
        round: 1,
        hospitalId: 'h0000',
        privateKey: self.privateKey,
        peers,
        update,
        params: fixedPoint,
      })[0],
    timing,
  );
  return {
    hospitals,
    params,
    maskSeconds: pair.subject,
    plainEncodeSeconds: pair.baseline,
    ratio: pair.ratio,
    ratioPairs: pair.pairRatios,
  };
}

/**
 * The aggregator's path as `himas bench aggregate` times it: DP-FedAvg, or with --secure-aggregation
 * the unmask + noise + step over masked int32 updates, each optionally after verifying K signatures
 * (over the float32 blobs, or the masked int32 blobs under secure aggregation).
 */
export async function benchAggregatorPath(
  hospitals: number,
  params: number,
  options: { secureAggregation: boolean; signatures: boolean },
  timing: TimingOptions,
): Promise<FloorFigure> {
  const updates = makeUpdates(hospitals, params);
  const deltas = updates.map((u) => u.delta);
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const strategy = benchStrategy();
  const context = { round: 1, expectedHospitals: hospitals, enrolledHospitals: hospitals, random };
  const secure = options.secureAggregation ? maskedRound(updates) : null;
  const signed = options.signatures
    ? signUpdates(
        updates,
        secure?.masked.map((m) => encodeUpdate(m)),
      )
    : null;
  const pair = await measureSideBySide(
    () => readPass(deltas),
    () => {
      if (signed) verifyAll(signed);
      return secure
        ? secureDpFedAvgStep(global, secure.round, secure.fixedPoint, hospitals, random)[0]
        : strategy.aggregate(global, updates, undefined, context).weights[0];
    },
    timing,
  );
  return floorFigure(hospitals * params, pair);
}
