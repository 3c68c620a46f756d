import { createHash, type KeyObject } from 'node:crypto';
import type { MaskingBundle, RevealBundle, RoundKeysStatement } from '../../schemas/secure-aggregation';
import {
  decideReveal,
  unmaskDoubleMasked,
  type FixedPointParameters,
  type UnmaskedSum,
} from '../core/secure-aggregation';
import {
  decisionOf,
  makeMaskingBundle,
  makeReveal,
  makeRoundKeysStatement,
  verifiedRoundKey,
  verifyMaskingBundle,
  verifyReveal,
  type Identity,
  type SplitTarget,
} from './double-masking-bundles';
import {
  deriveRoundMaskingKey,
  doubleMaskUpdate,
  newSelfMaskSeed,
  unmaskPrimitives,
} from './double-masking-crypto';
import {
  derivePairSeed,
  deriveMaskingKeyPair,
  exportPrivateKeyPem,
  importMaskingPublicKey,
} from './secure-aggregation-crypto';
import { generateSigningKeyPair } from './update-signing';

/**
 * One double-masked round, phase by phase, as each hospital and the aggregator do it; the
 * services (src/services/update-masking.ts, seed-reveal.ts, masked-aggregation.ts) call these
 * phases over the stores, the attack tests (test/attacks) and the benchmark
 * (bench/suites/double-masking.ts) over in-memory values.
 *   1. advertise: each hospital signs its round masking public keys for the run (no peer needed)
 *   2. mask: each hospital double-masks its clipped update with a fresh self-mask seed, and shares
 *      that seed and its round masking key t-of-n, encrypted to each participant (masking bundle)
 *   3. reveal: each survivor reveals, per participant, one thing (reveal-policy.ts)
 *   4. unmask: the aggregator rebuilds secrets from t shares, unmasks, checks K·C
 */

export interface RoundTerms {
  runId: string;
  round: number;
  /** U1, in the round document's order. */
  participants: readonly string[];
  threshold: number;
  minHospitals: number;
  params: FixedPointParameters;
}

/** A hospital's keys as the protocol uses them (its own secret store holds the private halves). */
export interface HospitalKeys {
  identity: Identity;
  signingPrivateKeyPem: string;
}

/** What any party knows of a hospital: its enrolled public keys. */
export interface EnrolledPublicKeys {
  signingPublicKey: KeyObject;
  identityMaskingPublicKey: KeyObject;
}

export type Directory = ReadonlyMap<string, EnrolledPublicKeys>;

/** Enrolment, simulated: an Ed25519 identity and the X25519 identity masking key derived from it. */
export function simulatedHospitalKeys(hospitalId: string): HospitalKeys & EnrolledPublicKeys {
  const signing = generateSigningKeyPair();
  const pem = exportPrivateKeyPem(signing.privateKey);
  const masking = deriveMaskingKeyPair(pem);
  return {
    identity: { hospitalId, signingKey: signing.privateKey, identityMaskingKey: masking.privateKey },
    signingPrivateKeyPem: pem,
    signingPublicKey: signing.publicKey,
    identityMaskingPublicKey: masking.publicKey,
  };
}

function splitTarget(terms: RoundTerms, directory: Directory): SplitTarget {
  return {
    runId: terms.runId,
    round: terms.round,
    threshold: terms.threshold,
    participants: terms.participants,
    identityPublicKeys: new Map([...directory].map(([id, k]) => [id, k.identityMaskingPublicKey])),
  };
}

const expectation = (terms: RoundTerms, hospitalId: string) => ({
  runId: terms.runId,
  round: terms.round,
  hospitalId,
  threshold: terms.threshold,
  participants: terms.participants,
});

/** Phase 1 for one hospital: its signed round public keys for rounds 1..`rounds`. */
export function advertiseRoundKeys(self: HospitalKeys, runId: string, rounds: number): RoundKeysStatement {
  return makeRoundKeysStatement(self.identity, self.signingPrivateKeyPem, runId, rounds);
}

/** Each participant's round public key (base64), verified: whoever masks or unmasks needs them. */
export function roundPublicKeys(
  terms: RoundTerms,
  directory: Directory,
  statements: ReadonlyMap<string, unknown>,
  ids: readonly string[] = terms.participants,
): Map<string, string> {
  return new Map(
    ids.map((id) => [
      id,
      verifiedRoundKey(
        statements.get(id),
        { runId: terms.runId, round: terms.round, hospitalId: id },
        directory.get(id)!.signingPublicKey,
      ),
    ]),
  );
}

export interface MaskedAttempt {
  values: Int32Array;
  /** SHA-256 of the blob: `blobOf(values)`. */
  updateSha256: string;
  bundle: MaskingBundle;
}

/**
 * Phase 2 for one hospital, one attempt (every call draws a fresh self-mask seed). `blobOf` is
 * how the values travel (the services' int32 update encoding); the bundle is bound to its hash.
 */
export async function maskAttempt(
  terms: RoundTerms,
  self: HospitalKeys,
  directory: Directory,
  statements: ReadonlyMap<string, unknown>,
  clipped: Float32Array,
  blobOf: (values: Int32Array) => Uint8Array = rawBytes,
): Promise<MaskedAttempt> {
  const id = self.identity.hospitalId;
  const peerIds = terms.participants.filter((p) => p !== id);
  const peerKeys = roundPublicKeys(terms, directory, statements, peerIds);
  const roundKey = deriveRoundMaskingKey(self.signingPrivateKeyPem, terms.runId, terms.round);
  const seed = newSelfMaskSeed();
  const values = doubleMaskUpdate({
    runId: terms.runId,
    round: terms.round,
    hospitalId: id,
    roundKey,
    peers: peerIds.map((p) => ({ hospitalId: p, publicKey: importMaskingPublicKey(peerKeys.get(p)!) })),
    selfMaskSeed: seed,
    update: clipped,
    params: terms.params,
  });
  const updateSha256 = sha256Hex(blobOf(values));
  const bundle = await makeMaskingBundle(
    self.identity,
    splitTarget(terms, directory),
    seed,
    roundKey,
    updateSha256,
  );
  seed.fill(0);
  return { values, updateSha256, bundle };
}

const rawBytes = (values: Int32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of the raw little-endian int32 bytes (the default `blobOf`). */
export const blobSha256 = (values: Int32Array): string => sha256Hex(rawBytes(values));

export interface RoundCommitment {
  /** Participant → SHA-256 of the update the aggregator accepted from it. */
  received: ReadonlyMap<string, string>;
  dropped: readonly string[];
}

/**
 * Phase 3 for one survivor. `bundles` are the masking bundles it can find (for a received peer,
 * the one of the accepted update). `previous` is its stored earlier reveal for this round, if
 * any: a request that differs from it is refused (RevealRefusedError), an equal one re-sends it.
 */
export function revealShares(
  terms: RoundTerms,
  self: HospitalKeys,
  directory: Directory,
  commitment: RoundCommitment,
  published: { statements: ReadonlyMap<string, unknown>; bundles: ReadonlyMap<string, unknown> },
  previous: RevealBundle | null,
): RevealBundle {
  const bundles = new Map<string, MaskingBundle>();
  for (const [peerId, data] of published.bundles) {
    if (!terms.participants.includes(peerId)) continue;
    bundles.set(
      peerId,
      verifyMaskingBundle(data, expectation(terms, peerId), directory.get(peerId)!.signingPublicKey),
    );
  }
  const decision = decideReveal(
    {
      selfId: self.identity.hospitalId,
      participants: terms.participants,
      ...commitment,
      sharesFrom: new Set(commitment.dropped.filter((d) => bundles.has(d))),
    },
    previous ? decisionOf(previous) : null,
  );
  if (previous) return previous;
  const roundKey = deriveRoundMaskingKey(self.signingPrivateKeyPem, terms.runId, terms.round);
  const droppedKeys = roundPublicKeys(
    terms,
    directory,
    published.statements,
    [...decision].filter(([, d]) => d.kind === 'pair-seed').map(([id]) => id),
  );
  return makeReveal(self.identity, splitTarget(terms, directory), decision, {
    bundles,
    pairSeedWith: (peerId) =>
      derivePairSeed({
        runId: terms.runId,
        round: terms.round,
        selfId: self.identity.hospitalId,
        privateKey: roundKey.privateKey,
        peerId,
        peerPublicKey: importMaskingPublicKey(droppedKeys.get(peerId)!),
      }),
  });
}

/** Phase 4: the aggregator, from what it holds (blobs, signed statements, bundles and reveals). */
export async function unmaskRound(
  terms: RoundTerms,
  directory: Directory,
  held: {
    maskedUpdates: ReadonlyMap<string, { values: Int32Array; sha256: string }>;
    statements: ReadonlyMap<string, unknown>;
    bundles: ReadonlyMap<string, unknown>;
    reveals: readonly unknown[];
  },
): Promise<UnmaskedSum> {
  const publicKeys = roundPublicKeys(terms, directory, held.statements);
  const commitments = new Map<string, string>();
  for (const [id, update] of held.maskedUpdates) {
    const owner = directory.get(id);
    if (!owner) throw new Error(`update from ${id}, who is not enrolled`);
    const bundle = verifyMaskingBundle(held.bundles.get(id), expectation(terms, id), owner.signingPublicKey);
    if (bundle.updateSha256 !== update.sha256)
      throw new Error(`${id}'s masking shares belong to another update than the one received`);
    commitments.set(id, bundle.commitment);
  }
  const reveals = held.reveals.flatMap((data) => {
    const from = (data as { hospitalId?: unknown }).hospitalId;
    const keys = typeof from === 'string' ? directory.get(from) : undefined;
    if (!keys) throw new Error(`reveal from an unknown hospital ${String(from)}`);
    return verifyReveal(
      data,
      { runId: terms.runId, round: terms.round, hospitalId: from as string },
      keys.signingPublicKey,
    ).shares;
  });
  return unmaskDoubleMasked(
    {
      participants: terms.participants,
      threshold: terms.threshold,
      minHospitals: terms.minHospitals,
      maskedUpdates: new Map([...held.maskedUpdates].map(([id, u]) => [id, u.values])),
      reveals,
      params: terms.params,
      length: [...held.maskedUpdates.values()][0]?.values.length ?? 0,
    },
    unmaskPrimitives({
      runId: terms.runId,
      round: terms.round,
      roundPublicKeys: publicKeys,
      selfMaskCommitments: commitments,
    }),
  );
}
