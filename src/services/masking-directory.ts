import { HospitalEnrolmentSchema, paths } from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';
import type { Directory } from '../runtime/double-masking-round';
import { importMaskingPublicKey } from '../runtime/secure-aggregation-crypto';
import { importSigningPublicKey } from '../runtime/update-signing';

/**
 * The enrolled public keys of a masked round's participants (`hospitals/{id}`): the Ed25519 key
 * every round-key statement, masking bundle and reveal must verify under, and the X25519 identity
 * masking key the shares are encrypted to. A participant without both cannot take part.
 */
export async function maskingDirectory(
  documents: Pick<DocumentStore, 'get'>,
  hospitalIds: readonly string[],
): Promise<Directory> {
  const directory = new Map<
    string,
    {
      signingPublicKey: ReturnType<typeof importSigningPublicKey>;
      identityMaskingPublicKey: ReturnType<typeof importMaskingPublicKey>;
    }
  >();
  for (const id of hospitalIds) {
    const data = await documents.get(paths.hospital(id));
    if (!data) throw new Error(`hospital ${id} is not enrolled: no keys in hospitals/${id}`);
    const enrolment = HospitalEnrolmentSchema.parse(data);
    if (enrolment.maskingPublicKey === undefined)
      throw new Error(`hospital ${id} has no enrolled masking key in hospitals/${id}`);
    directory.set(id, {
      signingPublicKey: importSigningPublicKey(enrolment.signingPublicKey),
      identityMaskingPublicKey: importMaskingPublicKey(enrolment.maskingPublicKey),
    });
  }
  return directory;
}
