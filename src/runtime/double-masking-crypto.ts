import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import {
  applyDoubleMask,
  encodeFixedPoint,
  type FixedPointParameters,
  type ShareKind,
  type UnmaskPrimitives,
} from '../core/secure-aggregation';
import {
  aesCtrSeedExpander,
  derivePairSeed,
  exportMaskingPublicKey,
  importMaskingPublicKey,
} from './secure-aggregation-crypto';

/**
 * The node:crypto half of double masking (Bonawitz et al. 2017, §4 "Double-Masking" and §6.1
 * for the primitives; the math is in src/core/secure-aggregation):
 * - a round masking key pair (X25519) per hospital, run and round, Ed25519-signed by the
 *   hospital (its round-key bundle), so a key revealed for a dropout says nothing about other rounds or its identity key;
 * - a self-mask seed b fresh from the CSPRNG for every attempt, committed to by its SHA-256;
 * - t-of-n Shamir shares of b and of the round masking key (shamir-secret-sharing, GF(2^8),
 *   audited by Cure53 and Zellic), each encrypted with AES-256-GCM to one peer under a key from
 *   X25519 of the two hospitals' enrolled identity masking keys (never the round keys: rebuilding
 *   a dropped hospital's round key must not open the shares it received).
 */

const KEY_BYTES = 32;
const ROUND_KEY_INFO = 'HIMAS secure-aggregation v2 round masking key';
const SELF_MASK_COMMITMENT_DOMAIN = 'HIMAS self-mask commitment v2';
const SHARE_CHANNEL_SALT = Buffer.from('HIMAS secure-aggregation v2 share channel', 'utf8');
// PKCS#8 DER header of an X25519 private key (RFC 8410 §7): the 32 raw key bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface RoundMaskingKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The 32 raw private-key bytes: what is Shamir-shared. */
  raw: Uint8Array;
}

/**
 * The hospital's X25519 masking key for one round of one run: HKDF-SHA256 of its Ed25519 identity
 * seed under a label bound to (run, round). Derived rather than stored, so the train and reveal
 * jobs of a round find the same key without keeping a secret between them; HKDF is one-way, so a
 * round key rebuilt from shares (a dropout) exposes neither the identity key nor any other round.
 */
export function deriveRoundMaskingKey(
  signingPrivateKeyPem: string,
  runId: string,
  round: number,
): RoundMaskingKey {
  const signing = createPrivateKey({ key: signingPrivateKeyPem, format: 'pem' });
  if (signing.asymmetricKeyType !== 'ed25519')
    throw new Error(
      `round masking keys derive from an Ed25519 signing key, got ${signing.asymmetricKeyType}`,
    );
  const seed = Buffer.from(signing.export({ format: 'jwk' }).d!, 'base64url');
  const info = Buffer.concat([Buffer.from(ROUND_KEY_INFO, 'utf8'), lengthPrefixed(runId), uint32(round)]);
  return roundMaskingKeyFromRaw(new Uint8Array(hkdfSync('sha256', seed, Buffer.alloc(0), info, KEY_BYTES)));
}

/** The key pair of 32 raw private bytes (as rebuilt from Shamir shares). */
export function roundMaskingKeyFromRaw(raw: Uint8Array): RoundMaskingKey {
  if (raw.length !== KEY_BYTES)
    throw new RangeError(`an X25519 private key is ${KEY_BYTES} bytes, got ${raw.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey), raw: Uint8Array.from(raw) };
}

/** A fresh self-mask seed b: 32 bytes from the CSPRNG, one per attempt, never stored by the sender. */
export function newSelfMaskSeed(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

/** SHA-256 commitment to b, bound to (run, round, hospital): lets the aggregator check a rebuilt b. */
export function selfMaskCommitment(
  runId: string,
  round: number,
  hospitalId: string,
  seed: Uint8Array,
): string {
  return createHash('sha256')
    .update(SELF_MASK_COMMITMENT_DOMAIN)
    .update(lengthPrefixed(runId))
    .update(uint32(round))
    .update(lengthPrefixed(hospitalId))
    .update(seed)
    .digest('hex');
}

/** t-of-n Shamir shares of `secret` (n ≥ t ≥ 2, n ≤ 255), in the order of `holders`. */
export async function splitSecret(
  secret: Uint8Array,
  holders: number,
  threshold: number,
): Promise<Uint8Array[]> {
  return split(secret, holders, threshold);
}

export async function combineShares(shares: Uint8Array[]): Promise<Uint8Array> {
  return combine(shares);
}

export interface ShareAddress {
  runId: string;
  round: number;
  /** Which attempt's self-mask (its update's SHA-256); null for the round masking key. */
  updateSha256: string | null;
  kind: Exclude<ShareKind, 'pair-seed'>;
  /** Whose secret the share is of. */
  ownerId: string;
  /** Who may decrypt it. */
  holderId: string;
}

/**
 * AES-256-GCM under HKDF(X25519(own identity masking key, peer's), run, round, owner, holder);
 * the address is the associated data, so a share cannot be moved to another round, kind, attempt
 * or pair. Output: base64 of nonce (12) ‖ ciphertext ‖ tag (16).
 */
export function encryptShare(
  address: ShareAddress,
  share: Uint8Array,
  ownIdentityKey: KeyObject,
  holderIdentityPublicKey: KeyObject,
): string {
  const key = channelKey(address, ownIdentityKey, holderIdentityPublicKey);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(addressBytes(address));
  const body = Buffer.concat([cipher.update(share), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

/** The holder's side; throws when the ciphertext or its address was tampered with. */
export function decryptShare(
  address: ShareAddress,
  ciphertext: string,
  ownIdentityKey: KeyObject,
  ownerIdentityPublicKey: KeyObject,
): Uint8Array {
  const bytes = Buffer.from(ciphertext, 'base64');
  if (bytes.length < 12 + 16 + 2)
    throw new Error(`share of ${address.ownerId} for ${address.holderId} is too short`);
  const key = channelKey(address, ownIdentityKey, ownerIdentityPublicKey);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
  decipher.setAAD(addressBytes(address));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return new Uint8Array(
    Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]),
  );
}

export interface DoubleMaskInput {
  runId: string;
  round: number;
  hospitalId: string;
  roundKey: RoundMaskingKey;
  /** Every other participant with the round masking public key it signed. */
  peers: ReadonlyArray<{ hospitalId: string; publicKey: KeyObject }>;
  selfMaskSeed: Uint8Array;
  update: Float32Array;
  params: FixedPointParameters;
}

/** Hospital side: fixed point, then self-mask and pairwise masks from the round keys. */
export function doubleMaskUpdate(input: DoubleMaskInput): Int32Array {
  const seeds = input.peers.map((peer) => ({
    peerId: peer.hospitalId,
    seed: derivePairSeed({
      runId: input.runId,
      round: input.round,
      selfId: input.hospitalId,
      privateKey: input.roundKey.privateKey,
      peerId: peer.hospitalId,
      peerPublicKey: peer.publicKey,
    }),
  }));
  return applyDoubleMask(
    encodeFixedPoint(input.update, input.params),
    input.hospitalId,
    input.selfMaskSeed,
    seeds,
    aesCtrSeedExpander,
  );
}

/**
 * The aggregator's primitives for unmaskDoubleMasked: AES-CTR expansion, Shamir combine, and the
 * checks of rebuilt secrets against what each hospital signed (its round public key) or committed
 * to (its self-mask).
 */
export function unmaskPrimitives(input: {
  runId: string;
  round: number;
  /** Each participant's signed round masking public key (raw base64). */
  roundPublicKeys: ReadonlyMap<string, string>;
  /** Each survivor's self-mask commitment (from its signed share bundle). */
  selfMaskCommitments: ReadonlyMap<string, string>;
}): UnmaskPrimitives {
  const { runId, round } = input;
  return {
    expand: aesCtrSeedExpander,
    combine: combineShares,
    isCommittedSelfMask: (peerId, seed) =>
      input.selfMaskCommitments.get(peerId) === selfMaskCommitment(runId, round, peerId, seed),
    pairSeedsOfDropped: (droppedId, raw, survivors) => {
      const key = roundMaskingKeyFromRaw(raw);
      if (exportMaskingPublicKey(key.publicKey) !== input.roundPublicKeys.get(droppedId))
        throw new Error(
          `the revealed shares of ${droppedId}'s round masking key do not rebuild the key it signed`,
        );
      const seeds = new Map<string, Uint8Array>();
      for (const s of survivors) {
        const publicKey = input.roundPublicKeys.get(s);
        if (!publicKey) throw new Error(`no signed round masking key of survivor ${s}`);
        seeds.set(
          s,
          derivePairSeed({
            runId,
            round,
            selfId: droppedId,
            privateKey: key.privateKey,
            peerId: s,
            peerPublicKey: importMaskingPublicKey(publicKey),
          }),
        );
      }
      return seeds;
    },
  };
}

function channelKey(address: ShareAddress, ownKey: KeyObject, peerPublicKey: KeyObject): Buffer {
  if (ownKey.asymmetricKeyType !== 'x25519' || peerPublicKey.asymmetricKeyType !== 'x25519')
    throw new TypeError('share encryption needs X25519 identity masking keys');
  const shared = diffieHellman({ privateKey: ownKey, publicKey: peerPublicKey });
  if (shared.every((b) => b === 0)) throw new Error('X25519 gave the all-zero secret (low-order peer key)');
  const info = Buffer.concat([
    lengthPrefixed(address.runId),
    uint32(address.round),
    lengthPrefixed(address.ownerId),
    lengthPrefixed(address.holderId),
  ]);
  return Buffer.from(hkdfSync('sha256', shared, SHARE_CHANNEL_SALT, info, KEY_BYTES));
}

function addressBytes(a: ShareAddress): Buffer {
  return Buffer.concat([
    Buffer.from('HIMAS share v2\u0000', 'utf8'),
    lengthPrefixed(a.runId),
    uint32(a.round),
    lengthPrefixed(a.kind),
    lengthPrefixed(a.updateSha256 ?? ''),
    lengthPrefixed(a.ownerId),
    lengthPrefixed(a.holderId),
  ]);
}

function uint32(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`round must be a uint32, got ${value}`);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([uint32(bytes.length), bytes]);
}
