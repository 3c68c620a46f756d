import { sign, verify, type KeyObject } from 'node:crypto';
import type { HospitalEvent } from '../../schemas/events';
import { canonicalJson } from './ledger-signing';
import { importPrivateKeyPem } from './secure-aggregation-crypto';
import { importSigningPublicKey, type SignatureCheck } from './update-signing';

/**
 * Ed25519 signatures on whole hospital events (RFC 8032): the sender signs the envelope — type, id,
 * run, round, time and every field of `data` — so nothing a hospital says (an evaluation, a release,
 * a seed, the base evaluation riding on an update) can be forged or edited by anyone else, and a
 * signed event cannot be moved to another run or round (both are inside the signed bytes).
 *
 * Signed message = DOMAIN ‖ canonicalJson(event without `signature`). The domain keeps these
 * signatures from being valid as ledger-entry or update signatures, and canonical JSON (sorted keys)
 * makes the bytes independent of how a bus or a store serialised the event.
 */
const DOMAIN = 'himas-hospital-event-v1\n';
const SIGNATURE_BYTES = 64;

function signedBytes(event: HospitalEvent): Buffer {
  const { signature: _ignored, ...unsigned } = event;
  return Buffer.from(DOMAIN + canonicalJson(unsigned));
}

/** Hospital side: the event with its envelope signature. */
export function signHospitalEvent<E extends HospitalEvent>(event: E, privateKey: KeyObject): E {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('event signing needs an Ed25519 key');
  return { ...event, signature: sign(null, signedBytes(event), privateKey).toString('base64') };
}

/** Receiver side: whether `event` is signed by `publicKey` (raw base64 or KeyObject). Never throws. */
export function verifyHospitalEvent(event: HospitalEvent, publicKey: KeyObject | string): SignatureCheck {
  const hospitalId = event.data.hospitalId;
  if (event.signature === undefined)
    return {
      ok: false,
      reason: `${event.type} from ${hospitalId} is not signed (envelope signature missing)`,
    };
  const bytes = Buffer.from(event.signature, 'base64');
  if (bytes.length !== SIGNATURE_BYTES || bytes.toString('base64') !== event.signature)
    return { ok: false, reason: `envelope signature is not ${SIGNATURE_BYTES} bytes of base64` };
  let good: boolean;
  try {
    const key = typeof publicKey === 'string' ? importSigningPublicKey(publicKey) : publicKey;
    good = verify(null, signedBytes(event), key, bytes);
  } catch (error) {
    return { ok: false, reason: `cannot check the envelope signature: ${(error as Error).message}` };
  }
  if (!good)
    return {
      ok: false,
      reason: `${event.type} ${event.id} is not signed by ${hospitalId}'s enrolled key (forged, edited, or moved to another run or round)`,
    };
  return { ok: true };
}

/** Signs events as one hospital; the job's handle on its private key. */
export type HospitalEventSigner = <E extends HospitalEvent>(event: E) => E;

export function hospitalEventSigner(privateKeyPem: string): HospitalEventSigner {
  const privateKey = importPrivateKeyPem(privateKeyPem);
  return (event) => signHospitalEvent(event, privateKey);
}
