import { HospitalEnrolmentSchema, paths, type HospitalEnrolment } from '../../schemas/documents';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { HospitalKeyStore, HospitalMaskingKey, HospitalSigningKey } from '../ports/hospital-keys';
import { recordAudit } from './audit';

export interface EnrolledKeys {
  signing: HospitalSigningKey;
  masking: HospitalMaskingKey;
}

/**
 * Enrols the hospital's public signing and masking keys in `hospitals/{id}` (once); a hospital
 * already enrolled under other keys is refused, so a stolen hospital id cannot be re-enrolled by
 * someone else. An enrolment from before secure aggregation (no masking key) gains its masking key
 * from the job whose signing key matches.
 */
export async function enrol(
  hospitalId: string,
  deps: {
    documents: Pick<DocumentStore, 'get' | 'create' | 'update'>;
    keys: HospitalKeyStore;
    clock: Clock;
  },
): Promise<EnrolledKeys> {
  const signing = await deps.keys.signingKey(hospitalId);
  const masking = await deps.keys.maskingKey(hospitalId);
  const enrolment: HospitalEnrolment = {
    hospitalId,
    signingPublicKey: signing.publicKey,
    maskingPublicKey: masking.publicKey,
    enrolledAt: deps.clock.now().toISOString(),
    enabled: true,
  };
  if (await deps.documents.create(paths.hospital(hospitalId), enrolment)) {
    await auditEnrolment(deps, hospitalId, 'signing and masking public keys enrolled');
    return { signing, masking };
  }
  const existing = HospitalEnrolmentSchema.parse(await deps.documents.get(paths.hospital(hospitalId)));
  if (existing.signingPublicKey !== signing.publicKey) {
    throw new Error(
      `hospital ${hospitalId} is enrolled with another signing key; its key store does not match hospitals/${hospitalId}`,
    );
  }
  if (existing.maskingPublicKey === undefined) {
    await deps.documents.update(paths.hospital(hospitalId), { maskingPublicKey: masking.publicKey });
    await auditEnrolment(deps, hospitalId, 'masking public key added to an existing enrolment');
  } else if (existing.maskingPublicKey !== masking.publicKey) {
    throw new Error(
      `hospital ${hospitalId} is enrolled with another masking key; its key store does not match hospitals/${hospitalId}`,
    );
  }
  return { signing, masking };
}

function auditEnrolment(
  deps: { documents: Pick<DocumentStore, 'create'>; clock: Clock },
  hospitalId: string,
  reason: string,
): Promise<void> {
  return recordAudit(
    deps.documents,
    {
      runId: null,
      round: null,
      actor: `hospital:${hospitalId}`,
      action: 'hospital.enrolled',
      outcome: 'info',
      reason,
      subject: hospitalId,
    },
    deps.clock.now(),
  );
}
