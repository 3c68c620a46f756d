import { createHash } from 'node:crypto';
import type { HospitalEnrolment } from '../../../schemas/documents';
import type { BlobStore } from '../../ports/blob-store';
import type { DocumentStore } from '../../ports/document-store';
import { NotFoundError } from '../../ports/errors';
import { verifyUpdateSignature } from '../../runtime/update-signing';
import { readEnrolment, signingKeyAt } from '../enrolled-keys';

/** What an update's signature binds (update-signing.ts), as an event or a receipt states it. */
export interface UpdateClaim {
  runId: string;
  round: number;
  hospitalId: string;
  baseModelVersionId: string;
  numExamples: number;
  sha256: string;
  signature: string | null;
}

export type Authenticity = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/**
 * Whether the blob at `blobPath` is the update `claim.hospitalId` signed: the hospital enrolled
 * and not revoked, its key valid at `at`, the blob's SHA-256 the claimed one, and the Ed25519
 * signature over run, round, hospital, base model, weight and blob good under that key. Used on
 * intake (before anything is recorded) and again at the round's close for every included update.
 */
export async function authenticateUpdate(
  deps: { blobs: BlobStore; documents: Pick<DocumentStore, 'get'> },
  claim: UpdateClaim,
  blobPath: string,
  at: Date,
  enrolment?: HospitalEnrolment,
): Promise<Authenticity> {
  let enrolled = enrolment;
  if (enrolled === undefined) {
    const lookup = await readEnrolment(deps.documents, claim.hospitalId);
    if (!lookup.ok) return lookup;
    enrolled = lookup.enrolment;
  }
  const key = signingKeyAt(enrolled, at);
  if (!key.ok) return key;
  let bytes: Uint8Array;
  try {
    bytes = await deps.blobs.get(blobPath);
  } catch (error) {
    if (error instanceof NotFoundError)
      return { ok: false, reason: `update blob ${blobPath} does not exist` };
    throw error;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== claim.sha256)
    return {
      ok: false,
      reason: `update blob checksum ${sha256.slice(0, 12)}… does not match the claimed ${claim.sha256.slice(0, 12)}…`,
    };
  const check = verifyUpdateSignature(
    {
      runId: claim.runId,
      round: claim.round,
      hospitalId: claim.hospitalId,
      baseModelVersionId: claim.baseModelVersionId,
      numExamples: claim.numExamples,
      blob: bytes,
    },
    claim.signature,
    new Map([[claim.hospitalId, key.signingPublicKey]]),
  );
  if (!check.ok) return { ok: false, reason: `bad signature: ${check.reason}` };
  return { ok: true, bytes };
}
