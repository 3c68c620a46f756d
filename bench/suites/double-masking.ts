import { randomFillSync } from 'node:crypto';
import type { MaskingBundle, RevealBundle, RoundKeysStatement } from '../../schemas/secure-aggregation';
import { encodeUpdate } from '../../src/core/codec/update-codec';
import { clipToNorm, type ClientUpdate } from '../../src/core/federated';
import {
  addModularInPlace,
  chooseFixedPointScale,
  defaultThreshold,
  encodeFixedPoint,
  maskSign,
} from '../../src/core/secure-aggregation';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { makeMaskingBundle } from '../../src/runtime/double-masking-bundles';
import { deriveRoundMaskingKey, newSelfMaskSeed } from '../../src/runtime/double-masking-crypto';
import {
  advertiseRoundKeys,
  blobSha256,
  maskAttempt,
  revealShares,
  simulatedHospitalKeys,
  unmaskRound,
  type EnrolledPublicKeys,
  type HospitalKeys,
  type RoundTerms,
} from '../../src/runtime/double-masking-round';
import {
  aesCtrSeedExpander,
  derivePairSeed,
  importMaskingPublicKey,
} from '../../src/runtime/secure-aggregation-crypto';
import { measureSideBySide, type TimingOptions } from '../harness';
import type { Summary } from '../statistics';
import { BENCH_CLIP_NORM, benchStrategy, makeUpdates } from './aggregation';

/**
 * Double-masked secure aggregation (src/runtime/double-masking-round.ts) next to the plain path,
 * each pair timed interleaved in one process:
 * - hospital: maskAttempt (round key, K − 1 verified round public keys, K − 1 X25519 + HKDF pair
 *   seeds, K AES-CTR expansions of P words — pairs and self-mask —, Shamir splits of the self-mask
 *   seed and of the round key and 2K AES-GCM encryptions, SHA-256 of the blob) vs encodeUpdate of
 *   the same clipped update;
 * - aggregator: unmaskRound (verify every bundle and reveal, rebuild each survivor's self-mask
 *   and each dropped hospital's round key from t shares, remove K' self-masks and K'·D pair masks,
 *   bound check) vs plain DP-FedAvg over the same survivors' float32 updates (clip, sum, noise, step).
 */

export interface DoubleMaskingFigure {
  hospitals: number;
  params: number;
  /** Hospitals that dropped after advertising keys (0 or 20 % of K). */
  dropped: number;
  threshold: number;
  /** One hospital's masking of one update (independent of dropouts; measured once per K, P). */
  maskSeconds: Summary;
  plainEncodeSeconds: Summary;
  /** Masking time / plain encoding time (medians of the interleaved pairs). */
  maskCostRatio: number;
  unmaskSeconds: Summary;
  plainAggregateSeconds: Summary;
  /** Unmasking time / plain DP-FedAvg time. */
  unmaskCostRatio: number;
  /** One survivor's reveal: decide, verify K bundles, decrypt K shares, sign. */
  revealSeconds: Summary;
}

export const DOUBLE_MASKING_GRID = {
  hospitals: [10, 30, 100],
  params: [1e5, 1e6],
  dropoutFractions: [0, 0.2],
};

const ids = (k: number) => Array.from({ length: k }, (_, i) => `h${String(i).padStart(3, '0')}`);

/** Every cell of DOUBLE_MASKING_GRID; `timing(k, p)` lets large cells repeat less. */
export async function benchDoubleMasking(
  timing: (hospitals: number, params: number) => TimingOptions,
  log: (line: string) => void,
): Promise<DoubleMaskingFigure[]> {
  const figures: DoubleMaskingFigure[] = [];
  for (const p of DOUBLE_MASKING_GRID.params) {
    for (const k of DOUBLE_MASKING_GRID.hospitals) {
      const setup = await roundSetup(k, p);
      const masking = await benchHospitalMasking(setup, timing(k, p));
      for (const fraction of DOUBLE_MASKING_GRID.dropoutFractions) {
        const dropped = Math.round(fraction * k);
        const aggregator = await benchUnmasking(setup, dropped, timing(k, p));
        const figure: DoubleMaskingFigure = {
          hospitals: k,
          params: p,
          dropped,
          threshold: setup.terms.threshold,
          ...masking,
          ...aggregator,
        };
        figures.push(figure);
        log(
          `double masking K=${k} P=${p} dropped=${dropped}: mask ${(figure.maskSeconds.median * 1e3).toFixed(1)} ms (${figure.maskCostRatio.toFixed(1)} × plain encode), unmask ${(figure.unmaskSeconds.median * 1e3).toFixed(0)} ms (${figure.unmaskCostRatio.toFixed(1)} × plain DP-FedAvg)`,
        );
      }
    }
  }
  return figures;
}

interface RoundSetup {
  terms: RoundTerms;
  directory: Map<string, HospitalKeys & EnrolledPublicKeys>;
  statements: Map<string, RoundKeysStatement>;
  updates: ClientUpdate[];
  clipped: Float32Array[];
}

async function roundSetup(k: number, p: number): Promise<RoundSetup> {
  const participants = ids(k);
  const terms: RoundTerms = {
    runId: 'bench',
    round: 1,
    participants,
    threshold: defaultThreshold(k, k),
    minHospitals: 3,
    params: chooseFixedPointScale(BENCH_CLIP_NORM, k),
  };
  const directory = new Map(participants.map((id) => [id, simulatedHospitalKeys(id)]));
  const statements = new Map(
    participants.map((id) => [id, advertiseRoundKeys(directory.get(id)!, terms.runId, 1)]),
  );
  const updates = makeUpdates(k, p).map((u, i) => ({ ...u, hospitalId: participants[i] }));
  const clipped = updates.map((u) => clipToNorm(u.delta, BENCH_CLIP_NORM).clipped);
  return { terms, directory, statements, updates, clipped };
}

async function benchHospitalMasking(setup: RoundSetup, timing: TimingOptions) {
  const id = setup.terms.participants[0];
  const pair = await measureSideBySide(
    () => encodeUpdate(setup.clipped[0]).length,
    async () =>
      (
        await maskAttempt(
          setup.terms,
          setup.directory.get(id)!,
          setup.directory,
          setup.statements,
          setup.clipped[0],
        )
      ).values[0],
    timing,
  );
  return { maskSeconds: pair.subject, plainEncodeSeconds: pair.baseline, maskCostRatio: 1 / pair.ratio };
}

/**
 * What the aggregator holds after the masking phase, built without K·(K − 1) mask expansions:
 * each survivor's blob is x + PRG(b) + r + Σ_d ±PRG(s_{u,d}) with real self-masks and real pair
 * masks with every dropped d (what the aggregator must remove), while the pairs among survivors —
 * which cancel in the sum and cost the aggregator nothing — are stood in for by uniform r_u with
 * Σ r_u = 0 (as bench/suites/secure-aggregation.ts does). The unmasking is exact: the bound check passes.
 */
async function heldAfterMasking(setup: RoundSetup, survivors: string[], dropped: string[]) {
  const { terms } = setup;
  const length = setup.clipped[0].length;
  const identityPublicKeys = new Map([...setup.directory].map(([h, k]) => [h, k.identityMaskingPublicKey]));
  const total = new Int32Array(length);
  const maskedUpdates = new Map<string, Int32Array>();
  const bundles = new Map<string, MaskingBundle>();
  for (const [n, id] of survivors.entries()) {
    const index = terms.participants.indexOf(id);
    const y = encodeFixedPoint(setup.clipped[index], terms.params);
    const r = new Int32Array(length);
    if (n < survivors.length - 1) {
      randomFillSync(r);
      addModularInPlace(total, r, 1);
    } else for (let i = 0; i < length; i++) r[i] = -total[i] | 0;
    addModularInPlace(y, r, 1);
    const seed = newSelfMaskSeed();
    addModularInPlace(y, aesCtrSeedExpander(seed, length), 1);
    const roundKey = deriveRoundMaskingKey(
      setup.directory.get(id)!.signingPrivateKeyPem,
      terms.runId,
      terms.round,
    );
    for (const d of dropped) {
      const s = derivePairSeed({
        runId: terms.runId,
        round: terms.round,
        selfId: id,
        privateKey: roundKey.privateKey,
        peerId: d,
        peerPublicKey: importMaskingPublicKey(setup.statements.get(d)!.rounds[0].publicKey),
      });
      addModularInPlace(y, aesCtrSeedExpander(s, length), maskSign(id, d));
    }
    maskedUpdates.set(id, y);
    bundles.set(
      id,
      await makeMaskingBundle(
        setup.directory.get(id)!.identity,
        { ...terms, identityPublicKeys },
        seed,
        roundKey,
        blobSha256(y),
      ),
    );
  }
  return { maskedUpdates, bundles };
}

async function benchUnmasking(setup: RoundSetup, droppedCount: number, timing: TimingOptions) {
  const { terms, directory } = setup;
  const dropped = terms.participants.slice(terms.participants.length - droppedCount);
  const survivors = terms.participants.filter((id) => !dropped.includes(id));
  const { maskedUpdates, bundles } = await heldAfterMasking(setup, survivors, dropped);
  // The dropped hospitals masked too (their bundles are in the store) but their blobs were lost:
  // the survivors reveal their round-key shares, the aggregator rebuilds each from t of them.
  for (const d of dropped) {
    const index = terms.participants.indexOf(d);
    const attempt = await maskAttempt(
      terms,
      directory.get(d)!,
      directory,
      setup.statements,
      setup.clipped[index],
    );
    bundles.set(d, attempt.bundle);
  }
  const commitment = {
    received: new Map(survivors.map((id) => [id, blobSha256(maskedUpdates.get(id)!)])),
    dropped,
  };
  const published = { statements: setup.statements, bundles };
  const reveal = (id: string): RevealBundle =>
    revealShares(terms, directory.get(id)!, directory, commitment, published, null);
  const reveals = survivors.map(reveal);
  const held = {
    maskedUpdates: new Map(
      [...maskedUpdates].map(([id, values]) => [id, { values, sha256: blobSha256(values) }]),
    ),
    statements: setup.statements,
    bundles: new Map([...bundles].filter(([id]) => survivors.includes(id))),
    reveals,
  };

  const strategy = benchStrategy();
  const plainUpdates = setup.updates.filter((u) => survivors.includes(u.hospitalId));
  const global = new Float32Array(setup.clipped[0].length);
  const random = new CryptoRandom();
  const context = {
    round: 1,
    expectedHospitals: terms.participants.length,
    enrolledHospitals: terms.participants.length,
    random,
  };
  const pair = await measureSideBySide(
    () => strategy.aggregate(global, plainUpdates, undefined, context).weights[0],
    async () => (await unmaskRound(terms, directory, held)).sum[0],
    timing,
  );
  const revealTiming = await measureSideBySide(
    () => 0,
    () => reveal(survivors[0]).reveals.length,
    { ...timing, repeats: Math.max(3, timing.repeats) },
  );
  return {
    unmaskSeconds: pair.subject,
    plainAggregateSeconds: pair.baseline,
    unmaskCostRatio: 1 / pair.ratio,
    revealSeconds: revealTiming.subject,
  };
}
