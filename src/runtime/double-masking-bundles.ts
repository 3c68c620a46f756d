import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import {
  MaskingBundleSchema,
  RevealBundleSchema,
  RoundKeysStatementSchema,
  type MaskingBundle,
  type RevealBundle,
  type RoundKeysStatement,
} from '../../schemas/secure-aggregation';
import type { RevealDecision, RevealedShare } from '../core/secure-aggregation';
import {
  decryptShare,
  deriveRoundMaskingKey,
  encryptShare,
  selfMaskCommitment,
  splitSecret,
  type RoundMaskingKey,
  type ShareAddress,
} from './double-masking-crypto';
import { exportMaskingPublicKey, importMaskingPublicKey } from './secure-aggregation-crypto';

/**
 * The signed documents of double masking (schemas/secure-aggregation.ts), built by the hospital
 * that owns the secrets and checked by whoever reads them. Every check failure throws with who,
 * what and why: a document that does not verify is never used.
 */

const SIGNATURE_DOMAIN = 'HIMAS secure-aggregation bundle v2\u0000';

export interface Identity {
  hospitalId: string;
  /** Ed25519 identity key: signs every document. */
  signingKey: KeyObject;
  /** X25519 identity masking key (enrolled): opens the share channel with each peer. */
  identityMaskingKey: KeyObject;
}

export interface SplitTarget {
  runId: string;
  round: number;
  threshold: number;
  /** U1 in the round's order: holders[i] gets share i. */
  participants: readonly string[];
  /** Each participant's enrolled X25519 identity masking public key. */
  identityPublicKeys: ReadonlyMap<string, KeyObject>;
}

/**
 * Phase 1 (advertise): the hospital's round masking public keys for rounds 1..`rounds` of a run,
 * derived from its identity seed, so it needs nothing from its peers and can publish before any
 * round opens.
 */
export function makeRoundKeysStatement(
  self: Identity,
  signingPrivateKeyPem: string,
  runId: string,
  rounds: number,
): RoundKeysStatement {
  const keys = Array.from({ length: rounds }, (_, i) => ({
    round: i + 1,
    publicKey: exportMaskingPublicKey(deriveRoundMaskingKey(signingPrivateKeyPem, runId, i + 1).publicKey),
  }));
  return signDocument(
    { kind: 'round-keys', runId, hospitalId: self.hospitalId, rounds: keys },
    self.signingKey,
    RoundKeysStatementSchema,
  );
}

/** The round's public key from a statement verified against its owner's enrolled signing key. */
export function verifiedRoundKey(
  data: unknown,
  expected: { runId: string; round: number; hospitalId: string },
  ownerSigningKey: KeyObject,
): string {
  const statement = parseSigned(
    data,
    RoundKeysStatementSchema,
    ownerSigningKey,
    expected.hospitalId,
    'round-keys',
  );
  if (statement.runId !== expected.runId)
    throw new Error(
      `round keys of ${expected.hospitalId} are for run ${statement.runId}, not ${expected.runId}`,
    );
  const entry = statement.rounds.find((r) => r.round === expected.round);
  if (!entry) throw new Error(`${expected.hospitalId} published no masking key for round ${expected.round}`);
  importMaskingPublicKey(entry.publicKey);
  return entry.publicKey;
}

/**
 * Phase 2 (mask), the shares: this attempt's self-mask seed and the round masking key, each split
 * t-of-n among the participants and encrypted to each, bound to the update's SHA-256.
 */
export async function makeMaskingBundle(
  self: Identity,
  target: SplitTarget,
  selfMaskSeed: Uint8Array,
  roundKey: RoundMaskingKey,
  updateSha256: string,
): Promise<MaskingBundle> {
  return signDocument(
    {
      kind: 'masking-shares',
      runId: target.runId,
      round: target.round,
      hospitalId: self.hospitalId,
      threshold: target.threshold,
      holders: [...target.participants],
      updateSha256,
      commitment: selfMaskCommitment(target.runId, target.round, self.hospitalId, selfMaskSeed),
      selfMaskShares: await sealShares(self, target, selfMaskSeed, 'self-mask', updateSha256),
      maskingKeyShares: await sealShares(self, target, roundKey.raw, 'masking-key', null),
    },
    self.signingKey,
    MaskingBundleSchema,
  );
}

export interface BundleExpectation {
  runId: string;
  round: number;
  hospitalId: string;
  threshold: number;
  participants: readonly string[];
}

/** Parses and verifies a masking bundle against its owner's enrolled signing key and the round's terms. */
export function verifyMaskingBundle(
  data: unknown,
  expected: BundleExpectation,
  ownerSigningKey: KeyObject,
): MaskingBundle {
  const bundle = parseSigned(data, MaskingBundleSchema, ownerSigningKey, expected.hospitalId, 'masking');
  const where = `masking bundle of ${expected.hospitalId}`;
  if (bundle.runId !== expected.runId || bundle.round !== expected.round)
    throw new Error(
      `${where} is for run ${bundle.runId} round ${bundle.round}, not run ${expected.runId} round ${expected.round}`,
    );
  if (bundle.threshold !== expected.threshold)
    throw new Error(
      `${where} splits with threshold ${bundle.threshold}, the round's is ${expected.threshold}`,
    );
  const same =
    bundle.holders.length === expected.participants.length &&
    bundle.holders.every((h, i) => h === expected.participants[i]);
  if (!same)
    throw new Error(`${where} is shared among ${bundle.holders.join(', ')}, not the round's participants`);
  for (const h of bundle.holders)
    if (!bundle.selfMaskShares[h] || !bundle.maskingKeyShares[h])
      throw new Error(`${where} has no share for ${h}`);
  return bundle;
}

/**
 * Phase 3 (reveal), survivor side: for each participant what `decision` names (reveal-policy.ts
 * decided it) — a share decrypted from the owner's bundle, or this survivor's own pair seed with
 * a peer that dropped before sending shares — signed as one reveal.
 */
export function makeReveal(
  self: Identity,
  target: Pick<SplitTarget, 'runId' | 'round' | 'identityPublicKeys'>,
  decision: RevealDecision,
  sources: {
    bundles: ReadonlyMap<string, MaskingBundle>;
    pairSeedWith: (peerId: string) => Uint8Array;
  },
): RevealBundle {
  const reveals: RevealBundle['reveals'] = [];
  for (const [peerId, { kind, updateSha256 }] of decision) {
    let share: Uint8Array;
    if (kind === 'pair-seed') share = sources.pairSeedWith(peerId);
    else {
      const bundle = sources.bundles.get(peerId);
      if (!bundle) throw new Error(`no ${kind} shares from ${peerId} to reveal`);
      if (kind === 'self-mask' && bundle.updateSha256 !== updateSha256)
        throw new Error(
          `${peerId}'s self-mask shares belong to another update than the one the round received`,
        );
      const ciphertext = (kind === 'self-mask' ? bundle.selfMaskShares : bundle.maskingKeyShares)[
        self.hospitalId
      ];
      if (!ciphertext) throw new Error(`${peerId} sent no ${kind} share to ${self.hospitalId}`);
      const ownerKey = target.identityPublicKeys.get(peerId);
      if (!ownerKey) throw new Error(`no identity masking key of ${peerId}`);
      share = decryptShare(
        address(
          target.runId,
          target.round,
          kind,
          kind === 'self-mask' ? updateSha256 : null,
          peerId,
          self.hospitalId,
        ),
        ciphertext,
        self.identityMaskingKey,
        ownerKey,
      );
    }
    reveals.push({ peerId, kind, updateSha256, share: Buffer.from(share).toString('base64') });
  }
  return signDocument(
    { kind: 'reveal', runId: target.runId, round: target.round, hospitalId: self.hospitalId, reveals },
    self.signingKey,
    RevealBundleSchema,
  );
}

/** The aggregator's reading of a survivor's reveal: verified, then as core's RevealedShare list. */
export function verifyReveal(
  data: unknown,
  expected: { runId: string; round: number; hospitalId: string },
  signingKey: KeyObject,
): { bundle: RevealBundle; shares: RevealedShare[] } {
  const bundle = parseSigned(data, RevealBundleSchema, signingKey, expected.hospitalId, 'reveal');
  if (bundle.runId !== expected.runId || bundle.round !== expected.round)
    throw new Error(`reveal of ${expected.hospitalId} is for run ${bundle.runId} round ${bundle.round}`);
  return {
    bundle,
    shares: bundle.reveals.map((r) => ({
      fromId: bundle.hospitalId,
      peerId: r.peerId,
      kind: r.kind,
      share: new Uint8Array(Buffer.from(r.share, 'base64')),
    })),
  };
}

/** The decision a stored reveal records (to refuse a later, different request: reveal-policy.ts). */
export function decisionOf(bundle: RevealBundle): RevealDecision {
  return new Map(bundle.reveals.map((r) => [r.peerId, { kind: r.kind, updateSha256: r.updateSha256 }]));
}

async function sealShares(
  self: Identity,
  target: SplitTarget,
  secret: Uint8Array,
  kind: 'self-mask' | 'masking-key',
  updateSha256: string | null,
): Promise<Record<string, string>> {
  const parts = await splitSecret(secret, target.participants.length, target.threshold);
  const sealed: Record<string, string> = {};
  target.participants.forEach((holderId, i) => {
    const holderKey = target.identityPublicKeys.get(holderId);
    if (!holderKey) throw new Error(`no identity masking key of ${holderId} to encrypt its share`);
    sealed[holderId] = encryptShare(
      address(target.runId, target.round, kind, updateSha256, self.hospitalId, holderId),
      parts[i],
      self.identityMaskingKey,
      holderKey,
    );
  });
  return sealed;
}

function address(
  runId: string,
  round: number,
  kind: ShareAddress['kind'],
  updateSha256: string | null,
  ownerId: string,
  holderId: string,
): ShareAddress {
  return { runId, round, kind, updateSha256, ownerId, holderId };
}

type Unsigned<T> = Omit<T, 'signature'>;

function signDocument<T extends { signature: string }>(
  unsigned: Unsigned<T>,
  signingKey: KeyObject,
  schema: { parse: (v: unknown) => T },
): T {
  const signature = sign(null, digest(unsigned), signingKey).toString('base64');
  return schema.parse({ ...unsigned, signature });
}

function parseSigned<T extends { signature: string; hospitalId: string }>(
  data: unknown,
  schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false; error: Error } },
  signingKey: KeyObject,
  hospitalId: string,
  what: string,
): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new Error(`${what} document of ${hospitalId} is malformed: ${parsed.error.message.split('\n')[0]}`);
  const { signature, ...unsigned } = parsed.data;
  if (parsed.data.hospitalId !== hospitalId)
    throw new Error(`${what} document claims to be from ${parsed.data.hospitalId}, expected ${hospitalId}`);
  let ok = false;
  try {
    ok = verify(null, digest(unsigned), signingKey, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`${what} document of ${hospitalId} has a bad signature`);
  return parsed.data;
}

/** SHA-256 of the domain and the canonical JSON (sorted keys) of the unsigned document. */
function digest(unsigned: object): Buffer {
  return createHash('sha256').update(SIGNATURE_DOMAIN).update(canonicalJson(unsigned)).digest();
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
