import { HospitalEnrolmentSchema, paths, type HospitalEnrolment } from '../../schemas/documents';
import type { HospitalEvent } from '../../schemas/events';
import type { DocumentStore } from '../ports/document-store';
import { verifyHospitalEvent } from '../runtime/hospital-event-signing';

/**
 * The read side of hospital identities: which key speaks for a hospital at a given time. Only the
 * operator writes `hospitals/{id}` (hospital-enrolment.ts); everyone else — the aggregator, the
 * agents, the hospitals reading their peers' masking keys (masking-directory.ts) — only reads it, and a hospital that is
 * not enrolled, revoked, or whose key was not valid at that time is refused.
 */
export type EnrolmentLookup = { ok: true; enrolment: HospitalEnrolment } | { ok: false; reason: string };

export async function readEnrolment(
  documents: Pick<DocumentStore, 'get'>,
  hospitalId: string,
): Promise<EnrolmentLookup> {
  const data = await documents.get(paths.hospital(hospitalId));
  if (data === undefined)
    return {
      ok: false,
      reason: `hospital ${hospitalId} is not enrolled (the operator enrols it: himas hospitals enrol ${hospitalId})`,
    };
  const parsed = HospitalEnrolmentSchema.safeParse(data);
  if (!parsed.success) return { ok: false, reason: `hospitals/${hospitalId} is malformed` };
  if (parsed.data.hospitalId !== hospitalId)
    return { ok: false, reason: `hospitals/${hospitalId} names another hospital, ${parsed.data.hospitalId}` };
  return { ok: true, enrolment: parsed.data };
}

export type KeyLookup = { ok: true; signingPublicKey: string } | { ok: false; reason: string };

/**
 * The signing key that speaks for the hospital at `at`: the current key from keyValidFrom on, a
 * rotated-out key inside its [validFrom, validUntil). A revoked hospital has no key for new messages.
 */
export function signingKeyAt(enrolment: HospitalEnrolment, at: Date): KeyLookup {
  const id = enrolment.hospitalId;
  if (!enrolment.enabled)
    return {
      ok: false,
      reason: `hospital ${id} is revoked${enrolment.revokedAt ? ` since ${enrolment.revokedAt}` : ''}${enrolment.revocationReason ? ` (${enrolment.revocationReason})` : ''}: its messages are refused`,
    };
  const currentFrom = new Date(enrolment.keyValidFrom ?? enrolment.enrolledAt);
  if (at >= currentFrom) return { ok: true, signingPublicKey: enrolment.signingPublicKey };
  const retired = enrolment.previousKeys.find(
    (k) => new Date(k.validFrom) <= at && at < new Date(k.validUntil),
  );
  if (retired) return { ok: true, signingPublicKey: retired.signingPublicKey };
  return { ok: false, reason: `no key of hospital ${id} was valid at ${at.toISOString()}` };
}

/** Every signing key the hospital ever had, oldest first (ledger chains may span rotations). */
export function signingKeyHistory(enrolment: HospitalEnrolment): { current: string; previous: string[] } {
  return {
    current: enrolment.signingPublicKey,
    previous: enrolment.previousKeys.map((k) => k.signingPublicKey),
  };
}

export type SenderCheck = { ok: true; enrolment: HospitalEnrolment } | { ok: false; reason: string };

/**
 * Whether a hospital event comes from the hospital it names: enrolled, not revoked, and signed by
 * the key valid at `receivedAt` (the receiver's clock, never the time the sender claims).
 */
export async function verifySender(
  documents: Pick<DocumentStore, 'get'>,
  event: HospitalEvent,
  receivedAt: Date,
): Promise<SenderCheck> {
  const lookup = await readEnrolment(documents, event.data.hospitalId);
  if (!lookup.ok) return lookup;
  const key = signingKeyAt(lookup.enrolment, receivedAt);
  if (!key.ok) return key;
  const check = verifyHospitalEvent(event, key.signingPublicKey);
  if (!check.ok) return check;
  return { ok: true, enrolment: lookup.enrolment };
}
