import type { HospitalEnrolment } from '../../schemas/documents';
import { SecureAggregationError } from '../core/secure-aggregation';
import type { DocumentStore } from '../ports/document-store';
import type { Directory, EnrolledPublicKeys } from '../runtime/double-masking-round';
import { importMaskingPublicKey } from '../runtime/secure-aggregation-crypto';
import { importSigningPublicKey } from '../runtime/update-signing';
import { readEnrolment, signingKeyAt } from './enrolled-keys';

/**
 * The enrolled public keys of a masked round's participants, as the operator enrolled them in
 * `hospitals/{id}` (read through enrolled-keys.ts, so revocation and key history apply): the
 * Ed25519 key valid at `at` that every round-key statement, masking bundle and reveal must verify
 * under, and the X25519 identity masking key of that same enrolment period the shares are
 * encrypted to. A participant that is not enrolled, is revoked, or has no masking key cannot take
 * part: SecureAggregationError (a round that needs it cannot be unmasked; retrying does not help).
 */
export async function maskingDirectory(
  documents: Pick<DocumentStore, 'get'>,
  hospitalIds: readonly string[],
  at: Date,
): Promise<Directory> {
  const directory = new Map<string, EnrolledPublicKeys>();
  for (const id of hospitalIds) {
    const lookup = await readEnrolment(documents, id);
    if (!lookup.ok) throw new SecureAggregationError(`${lookup.reason}: no masking keys for ${id}`);
    const key = signingKeyAt(lookup.enrolment, at);
    if (!key.ok) throw new SecureAggregationError(key.reason);
    const maskingPublicKey = maskingKeyOf(lookup.enrolment, key.signingPublicKey);
    if (maskingPublicKey === undefined)
      throw new SecureAggregationError(`hospital ${id} has no enrolled masking key in hospitals/${id}`);
    directory.set(id, {
      signingPublicKey: importSigningPublicKey(key.signingPublicKey),
      identityMaskingPublicKey: importMaskingPublicKey(maskingPublicKey),
    });
  }
  return directory;
}

/** The masking key enrolled together with `signingPublicKey` (the current one, or a retired pair). */
function maskingKeyOf(enrolment: HospitalEnrolment, signingPublicKey: string): string | undefined {
  if (signingPublicKey === enrolment.signingPublicKey) return enrolment.maskingPublicKey;
  return enrolment.previousKeys.find((k) => k.signingPublicKey === signingPublicKey)?.maskingPublicKey;
}
