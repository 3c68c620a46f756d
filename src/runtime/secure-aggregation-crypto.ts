import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { LITTLE_ENDIAN_HOST } from '../core/codec/update-codec';
import {
  applyPairwiseMasks,
  encodeFixedPoint,
  type FixedPointParameters,
  type PeerSeed,
  type RevealedSeed,
  type SeedExpander,
} from '../core/secure-aggregation';

/**
 * The node:crypto half of secure aggregation (Bonawitz et al. 2017, §4 and §6.1 for the
 * primitives): X25519 key agreement, HKDF-SHA256 to a per-(run, round, pair) seed, AES-256-CTR as
 * the PRG. The math (fixed point, mask signs, cancellation, dropout removal) is in
 * src/core/secure-aggregation.
 */

const SEED_BYTES = 32;
const HKDF_SALT = Buffer.from('HIMAS secure-aggregation v1 pair seed', 'utf8');

export interface MaskingKeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** A fresh X25519 key pair for one hospital (enrolment publishes the public half). */
export function generateMaskingKeyPair(): MaskingKeyPair {
  return generateKeyPairSync('x25519');
}

// PKCS#8 DER header of an X25519 private key (RFC 8410 §7): the 32 raw key bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const MASKING_KEY_INFO = Buffer.from('HIMAS secure-aggregation v1 masking key', 'utf8');

/**
 * The hospital's X25519 masking key, derived from its Ed25519 signing key with HKDF-SHA256 under
 * its own label (key separation: neither key reveals the other). Derived, not stored, so the
 * hospital keeps one secret (locally one key file, in the cloud one Secret Manager secret).
 */
export function deriveMaskingKeyPair(signingPrivateKeyPem: string): MaskingKeyPair {
  let pair = derivedMaskingKeys.get(signingPrivateKeyPem);
  if (pair === undefined) {
    pair = deriveMaskingKeyPairOnce(signingPrivateKeyPem);
    if (derivedMaskingKeys.size >= MAX_IMPORTED_PRIVATE_KEYS) derivedMaskingKeys.clear();
    derivedMaskingKeys.set(signingPrivateKeyPem, pair);
  }
  return { ...pair };
}

// A pure function of the signing key, derived for every job of the hospital: kept like the imports.
const derivedMaskingKeys = new Map<string, MaskingKeyPair>();

function deriveMaskingKeyPairOnce(signingPrivateKeyPem: string): MaskingKeyPair {
  const signing = importPrivateKeyPem(signingPrivateKeyPem);
  if (signing.asymmetricKeyType !== 'ed25519')
    throw new Error(`the masking key derives from an Ed25519 signing key, got ${signing.asymmetricKeyType}`);
  const seed = Buffer.from(signing.export({ format: 'jwk' }).d!, 'base64url');
  const raw = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), MASKING_KEY_INFO, 32));
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** The 32 raw public-key bytes, base64: what an enrolment document stores. */
export function exportMaskingPublicKey(publicKey: KeyObject): string {
  return rawPublicKeyBase64(publicKey, 'X25519');
}

export function importMaskingPublicKey(base64: string): KeyObject {
  return publicKeyFromRawBase64(base64, 'X25519');
}

/** PKCS#8 PEM of the private key, for the hospital's secret store (never leaves the hospital). */
export function exportPrivateKeyPem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

// Parsing a PEM costs ≈ 0.1-0.5 ms and every job of a hospital parses the same one several times
// (ledger signing, event signing, masking): a KeyObject is immutable, so one per PEM is shared.
const importedPrivateKeys = new Map<string, KeyObject>();
const MAX_IMPORTED_PRIVATE_KEYS = 4096;

export function importPrivateKeyPem(pem: string): KeyObject {
  const known = importedPrivateKeys.get(pem);
  if (known !== undefined) return known;
  const key = createPrivateKey({ key: pem, format: 'pem' });
  if (importedPrivateKeys.size >= MAX_IMPORTED_PRIVATE_KEYS) importedPrivateKeys.clear();
  importedPrivateKeys.set(pem, key);
  return key;
}

export interface PairSeedInput {
  runId: string;
  round: number;
  selfId: string;
  privateKey: KeyObject;
  peerId: string;
  peerPublicKey: KeyObject;
}

/**
 * s_{u,v} = HKDF-SHA256(X25519(sk_u, pk_v), salt, info = len-prefixed(runId, round, min id, max id)).
 * Both ends compute the same bytes (the ids are ordered); binding run and round makes every round's
 * masks fresh, so a mask revealed for a dropout in round r says nothing about round r+1 (§4: one-time
 * pads must not be reused). This is also the seed a survivor reveals for a dropped peer.
 */
export function derivePairSeed(input: PairSeedInput): Uint8Array {
  const { runId, round, selfId, peerId } = input;
  if (selfId === peerId) throw new RangeError(`a hospital has no pairwise seed with itself (${selfId})`);
  if (!Number.isInteger(round) || round < 0 || round > 0xffffffff)
    throw new RangeError(`round must be a uint32, got ${round}`);
  if (input.privateKey.asymmetricKeyType !== 'x25519' || input.peerPublicKey.asymmetricKeyType !== 'x25519')
    throw new TypeError('pairwise seeds need X25519 keys');
  const shared = diffieHellman({ privateKey: input.privateKey, publicKey: input.peerPublicKey });
  // RFC 7748 §6.1: an all-zero output means the peer sent a low-order point; refuse it.
  if (shared.every((b) => b === 0)) throw new Error(`X25519 with ${peerId} gave the all-zero secret`);
  const [low, high] = selfId < peerId ? [selfId, peerId] : [peerId, selfId];
  const roundBytes = Buffer.alloc(4);
  roundBytes.writeUInt32BE(round);
  const info = Buffer.concat([lengthPrefixed(runId), roundBytes, lengthPrefixed(low), lengthPrefixed(high)]);
  return new Uint8Array(hkdfSync('sha256', shared, HKDF_SALT, info, SEED_BYTES));
}

/**
 * The PRG: AES-256-CTR keystream (key = the 32-byte seed, IV = 0, encrypting zeros), read as
 * little-endian uint32 words. A zero IV is safe because every seed is used for exactly one mask.
 */
export const aesCtrSeedExpander: SeedExpander = (seed, length) => {
  if (seed.length !== SEED_BYTES)
    throw new RangeError(`seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  const cipher = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  const stream = Buffer.concat([cipher.update(Buffer.alloc(length * 4)), cipher.final()]);
  const out = new Int32Array(length);
  if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(stream.subarray(0, length * 4));
  else for (let i = 0; i < length; i++) out[i] = stream.readInt32LE(i * 4);
  return out;
};

export interface MaskUpdateInput {
  runId: string;
  round: number;
  hospitalId: string;
  privateKey: KeyObject;
  /** Every other participant of the round (U1 \ {self}) with its enrolled X25519 public key. */
  peers: ReadonlyArray<{ hospitalId: string; publicKey: KeyObject }>;
  /** The clipped update (every |value| ≤ C). */
  update: Float32Array;
  params: FixedPointParameters;
}

/** Hospital side: encode to fixed point and add the pairwise masks; the result goes in an int32 blob. */
export function maskUpdate(input: MaskUpdateInput): Int32Array {
  const seeds: PeerSeed[] = input.peers.map((peer) => ({
    peerId: peer.hospitalId,
    seed: derivePairSeed({
      runId: input.runId,
      round: input.round,
      selfId: input.hospitalId,
      privateKey: input.privateKey,
      peerId: peer.hospitalId,
      peerPublicKey: peer.publicKey,
    }),
  }));
  return applyPairwiseMasks(
    encodeFixedPoint(input.update, input.params),
    input.hospitalId,
    seeds,
    aesCtrSeedExpander,
  );
}

/**
 * Survivor side of dropout recovery: the seed this hospital shares with a dropped peer. A survivor
 * must only answer for peers the aggregator has declared dropped *and* whose update it will never
 * accept (see README, "Threat model").
 */
export function revealSeedForDropped(input: {
  runId: string;
  round: number;
  survivorId: string;
  privateKey: KeyObject;
  droppedId: string;
  droppedPublicKey: KeyObject;
}): RevealedSeed {
  return {
    survivorId: input.survivorId,
    droppedId: input.droppedId,
    seed: derivePairSeed({
      runId: input.runId,
      round: input.round,
      selfId: input.survivorId,
      privateKey: input.privateKey,
      peerId: input.droppedId,
      peerPublicKey: input.droppedPublicKey,
    }),
  };
}

/** Shared with update-signing.ts: raw key bytes via JWK (Node 20 has no 'raw' export for OKP keys). */
export function rawPublicKeyBase64(publicKey: KeyObject, crv: 'X25519' | 'Ed25519'): string {
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== crv.toLowerCase())
    throw new TypeError(`expected an ${crv} public key`);
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

export function publicKeyFromRawBase64(base64: string, crv: 'X25519' | 'Ed25519'): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== base64)
    throw new RangeError(
      `an ${crv} public key is 32 bytes in base64, got ${JSON.stringify(base64.slice(0, 60))}`,
    );
  return createPublicKey({ key: { kty: 'OKP', crv, x: raw.toString('base64url') }, format: 'jwk' });
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
