import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyFromRawBase64, rawPublicKeyBase64 } from './secure-aggregation-crypto';

/**
 * Ed25519 signatures on model updates (RFC 8032), so only an enrolled hospital can submit one and a
 * signature cannot be replayed into another run, round, hospital, base model, weight or blob.
 *
 * Signed message = SHA-256( DOMAIN ‖ lp(runId) ‖ u32(round) ‖ lp(hospitalId) ‖ lp(baseModelVersionId)
 *                           ‖ lp(decimal numExamples) ‖ SHA-256(blob) ),  lp = u32 length prefix.
 * The domain prefix keeps these signatures from ever being valid for another HIMAS message type;
 * length prefixes keep two different field tuples from serialising to the same bytes.
 */
const DOMAIN = Buffer.from('HIMAS update signature v1\u0000', 'utf8');
const SIGNATURE_BYTES = 64;

export interface SignedUpdateFields {
  runId: string;
  round: number;
  hospitalId: string;
  baseModelVersionId: string;
  /** The update's weight as sent in update.submitted (FedAvg weights by it). */
  numExamples: number;
  /** The update blob exactly as uploaded (float32 or masked int32). */
  blob: Uint8Array;
}

export interface SigningKeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export function generateSigningKeyPair(): SigningKeyPair {
  return generateKeyPairSync('ed25519');
}

/** The 32 raw public-key bytes, base64: what an enrolment document stores. */
export function exportSigningPublicKey(publicKey: KeyObject): string {
  return rawPublicKeyBase64(publicKey, 'Ed25519');
}

/** Imported keys by their raw base64 (a KeyObject is immutable); bounded, oldest dropped first. */
const importedSigningKeys = new Map<string, KeyObject>();
const MAX_IMPORTED_KEYS = 4096;

export function importSigningPublicKey(base64: string): KeyObject {
  let key = importedSigningKeys.get(base64);
  if (key === undefined) {
    key = publicKeyFromRawBase64(base64, 'Ed25519');
    if (importedSigningKeys.size >= MAX_IMPORTED_KEYS)
      importedSigningKeys.delete(importedSigningKeys.keys().next().value as string);
    importedSigningKeys.set(base64, key);
  }
  return key;
}

/** The 32-byte digest that is signed (see the file comment). */
export function updateDigest(fields: SignedUpdateFields): Buffer {
  const { round, numExamples } = fields;
  if (!Number.isInteger(round) || round < 0 || round > 0xffffffff)
    throw new RangeError(`round must be a uint32, got ${round}`);
  if (!Number.isSafeInteger(numExamples) || numExamples < 0)
    throw new RangeError(`numExamples must be a non-negative integer, got ${numExamples}`);
  const roundBytes = Buffer.alloc(4);
  roundBytes.writeUInt32BE(round);
  return createHash('sha256')
    .update(DOMAIN)
    .update(lengthPrefixed(fields.runId))
    .update(roundBytes)
    .update(lengthPrefixed(fields.hospitalId))
    .update(lengthPrefixed(fields.baseModelVersionId))
    .update(lengthPrefixed(String(numExamples)))
    .update(createHash('sha256').update(fields.blob).digest())
    .digest();
}

/** Hospital side: the base64 Ed25519 signature to put in update.submitted. */
export function signUpdate(fields: SignedUpdateFields, privateKey: KeyObject): string {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('update signing needs an Ed25519 key');
  return sign(null, updateDigest(fields), privateKey).toString('base64');
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Aggregator side: verifies against the key enrolled for fields.hospitalId (`enrolledKeys` maps
 * hospital id → raw base64 public key or KeyObject). Never throws on bad input: every failure is a
 * reason to audit.
 */
export function verifyUpdateSignature(
  fields: SignedUpdateFields,
  signature: string | undefined | null,
  enrolledKeys: ReadonlyMap<string, KeyObject | string>,
): SignatureCheck {
  const enrolled = enrolledKeys.get(fields.hospitalId);
  if (enrolled === undefined)
    return { ok: false, reason: `hospital ${fields.hospitalId} has no enrolled signing key` };
  if (signature === undefined || signature === null || signature === '')
    return { ok: false, reason: `update from ${fields.hospitalId} is not signed` };
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== SIGNATURE_BYTES || bytes.toString('base64') !== signature)
    return { ok: false, reason: `signature is not ${SIGNATURE_BYTES} bytes of base64` };
  let key: KeyObject;
  let digest: Buffer;
  try {
    key = typeof enrolled === 'string' ? importSigningPublicKey(enrolled) : enrolled;
    digest = updateDigest(fields);
  } catch (error) {
    return { ok: false, reason: `cannot check signature: ${(error as Error).message}` };
  }
  if (key.asymmetricKeyType !== 'ed25519')
    return { ok: false, reason: `enrolled key of ${fields.hospitalId} is not Ed25519` };
  if (!verify(null, digest, key, bytes)) {
    return {
      ok: false,
      reason:
        `signature does not match run ${fields.runId}, round ${fields.round}, hospital ${fields.hospitalId}, ` +
        `base model ${fields.baseModelVersionId}, weight ${fields.numExamples} and this blob ` +
        '(tampered, replayed from another round, or signed with another key)',
    };
  }
  return { ok: true };
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
