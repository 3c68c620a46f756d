import { HospitalEnrolmentSchema, paths, type HospitalEnrolment } from '../../schemas/documents';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { HospitalKeyProvisioner, HospitalKeyStore } from '../ports/hospital-keys';
import { importMaskingPublicKey } from '../runtime/secure-aggregation-crypto';
import { importSigningPublicKey } from '../runtime/update-signing';
import { recordAudit } from './audit';
import { readEnrolment } from './enrolled-keys';

/**
 * Operator-only management of hospital identities (`himas hospitals enrol|rotate|revoke|list`,
 * Terraform's enrolment in the cloud). A hospital never enrols itself: its job only reads
 * `hospitals/{id}` and refuses to run when its key store does not hold the enrolled key
 * (confirmOwnEnrolment). Every change is audited with the operator as actor.
 */
export interface HospitalPublicKeys {
  /** Raw Ed25519 public key, base64. */
  signingPublicKey: string;
  /** Raw X25519 public key, base64. */
  maskingPublicKey: string;
}

export interface OperatorDeps {
  documents: Pick<DocumentStore, 'get' | 'create' | 'list' | 'runTransaction'>;
  clock: Clock;
  /** Who is acting, for the audit log (e.g. `operator:cli`). */
  operator: string;
}

/** A request the operator must change (a clear one-line reason and what to do). */
export class EnrolmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnrolmentError';
  }
}

export type EnrolmentChange = { changed: boolean; enrolment: HospitalEnrolment; detail: string };

/** Enrols a hospital under its public keys; the same keys again change nothing. */
export async function enrolHospital(
  deps: OperatorDeps,
  hospitalId: string,
  keys: HospitalPublicKeys,
): Promise<EnrolmentChange> {
  checkPublicKeys(hospitalId, keys);
  const now = deps.clock.now().toISOString();
  const enrolment: HospitalEnrolment = HospitalEnrolmentSchema.parse({
    hospitalId,
    ...keys,
    enrolledAt: now,
    keyValidFrom: now,
    enabled: true,
    updatedAt: now,
  });
  if (await deps.documents.create(paths.hospital(hospitalId), enrolment)) {
    await audit(deps, hospitalId, 'hospital.enrolled', 'signing and masking public keys enrolled');
    return { changed: true, enrolment, detail: `enrolled ${hospitalId}` };
  }
  const existing = await existingEnrolment(deps, hospitalId);
  if (!existing.enabled)
    throw new EnrolmentError(
      `hospital ${hospitalId} was revoked${existing.revokedAt ? ` at ${existing.revokedAt}` : ''}; a revoked id stays revoked — enrol the hospital under a new id`,
    );
  if (existing.signingPublicKey !== keys.signingPublicKey)
    throw new EnrolmentError(
      `hospital ${hospitalId} is already enrolled under another signing key; to give it a new key use: himas hospitals rotate ${hospitalId}`,
    );
  if (existing.maskingPublicKey === undefined) {
    // An enrolment from before secure aggregation gains its masking key, from the operator.
    const updated = await deps.documents.runTransaction(async (tx) => {
      const current = HospitalEnrolmentSchema.parse(await tx.get(paths.hospital(hospitalId)));
      const next = { ...current, maskingPublicKey: keys.maskingPublicKey, updatedAt: now };
      tx.set(paths.hospital(hospitalId), next);
      return next;
    });
    await audit(deps, hospitalId, 'hospital.enrolled', 'masking public key added to an existing enrolment');
    return { changed: true, enrolment: updated, detail: `added a masking key to ${hospitalId}` };
  }
  if (existing.maskingPublicKey !== keys.maskingPublicKey)
    throw new EnrolmentError(
      `hospital ${hospitalId} is already enrolled under another masking key; to give it new keys use: himas hospitals rotate ${hospitalId}`,
    );
  return {
    changed: false,
    enrolment: existing,
    detail: `${hospitalId} is already enrolled under these keys`,
  };
}

/**
 * Replaces the hospital's keys. The old ones move to previousKeys, valid until now: what they
 * signed before (ledger entries, updates already received) still verifies, nothing they sign
 * from now on does.
 */
export async function rotateHospitalKeys(
  deps: OperatorDeps,
  hospitalId: string,
  keys: HospitalPublicKeys,
): Promise<EnrolmentChange> {
  checkPublicKeys(hospitalId, keys);
  const now = deps.clock.now().toISOString();
  const rotated = await deps.documents.runTransaction(async (tx) => {
    const data = await tx.get(paths.hospital(hospitalId));
    if (data === undefined)
      throw new EnrolmentError(
        `hospital ${hospitalId} is not enrolled, so it has no key to rotate; enrol it: himas hospitals enrol ${hospitalId}`,
      );
    const current = HospitalEnrolmentSchema.parse(data);
    if (!current.enabled)
      throw new EnrolmentError(`hospital ${hospitalId} is revoked; a revoked id is not given new keys`);
    const used = [current.signingPublicKey, ...current.previousKeys.map((k) => k.signingPublicKey)];
    if (used.includes(keys.signingPublicKey))
      throw new EnrolmentError(
        `hospital ${hospitalId} has used this signing key before; a rotation needs a new key`,
      );
    const next: HospitalEnrolment = {
      ...current,
      signingPublicKey: keys.signingPublicKey,
      maskingPublicKey: keys.maskingPublicKey,
      keyValidFrom: now,
      previousKeys: [
        ...current.previousKeys,
        {
          signingPublicKey: current.signingPublicKey,
          ...(current.maskingPublicKey ? { maskingPublicKey: current.maskingPublicKey } : {}),
          validFrom: current.keyValidFrom ?? current.enrolledAt,
          validUntil: now,
        },
      ],
      updatedAt: now,
    };
    tx.set(paths.hospital(hospitalId), next);
    return next;
  });
  await audit(
    deps,
    hospitalId,
    'hospital.key-rotated',
    `signing key ${fingerprint(rotated.previousKeys.at(-1)!.signingPublicKey)} retired, ${fingerprint(keys.signingPublicKey)} valid from ${now}`,
  );
  return {
    changed: true,
    enrolment: rotated,
    detail: `rotated ${hospitalId}'s keys (${rotated.previousKeys.length} retired)`,
  };
}

/** Revokes a hospital: every new message of it is refused; what it already contributed stays verifiable. */
export async function revokeHospital(
  deps: OperatorDeps,
  hospitalId: string,
  reason: string,
): Promise<EnrolmentChange> {
  const now = deps.clock.now().toISOString();
  const outcome = await deps.documents.runTransaction(async (tx) => {
    const data = await tx.get(paths.hospital(hospitalId));
    if (data === undefined)
      throw new EnrolmentError(`hospital ${hospitalId} is not enrolled; there is nothing to revoke`);
    const current = HospitalEnrolmentSchema.parse(data);
    if (!current.enabled) return { changed: false, enrolment: current };
    const next: HospitalEnrolment = {
      ...current,
      enabled: false,
      revokedAt: now,
      revocationReason: reason,
      updatedAt: now,
    };
    tx.set(paths.hospital(hospitalId), next);
    return { changed: true, enrolment: next };
  });
  if (outcome.changed) await audit(deps, hospitalId, 'hospital.revoked', reason);
  return {
    ...outcome,
    detail: outcome.changed ? `revoked ${hospitalId}` : `${hospitalId} was already revoked`,
  };
}

export async function listHospitals(documents: Pick<DocumentStore, 'list'>): Promise<HospitalEnrolment[]> {
  return (await documents.list(paths.hospitals()))
    .map((s) => HospitalEnrolmentSchema.safeParse(s.data))
    .flatMap((p) => (p.success ? [p.data] : []));
}

/** The public half of a key store's keys, what the operator enrols. */
export async function publicKeysOf(keys: HospitalKeyStore, hospitalId: string): Promise<HospitalPublicKeys> {
  return {
    signingPublicKey: (await keys.signingKey(hospitalId)).publicKey,
    maskingPublicKey: (await keys.maskingKey(hospitalId)).publicKey,
  };
}

/**
 * A laptop run's operator step (`npx himas train`): the simulated hospitals' key stores are local,
 * so the CLI provisions a key for a hospital that has none and enrols it. It never re-enrols: a
 * hospital enrolled under another key than its store holds (a deleted or replaced key file) stops
 * the run with what to do, exactly as its job would.
 */
export async function enrolSimulatedHospitals(
  deps: OperatorDeps & { keys: HospitalKeyProvisioner },
  hospitalIds: readonly string[],
): Promise<void> {
  for (const hospitalId of hospitalIds) {
    const existing = await deps.documents.get(paths.hospital(hospitalId));
    if (existing === undefined) {
      await deps.keys.ensureSigningKey(hospitalId);
      await enrolHospital(deps, hospitalId, await publicKeysOf(deps.keys, hospitalId));
      continue;
    }
    // Read only: a missing key file is not replaced here.
    await confirmOwnEnrolment(hospitalId, deps);
  }
}

export interface EnrolledKeys {
  signing: Awaited<ReturnType<HospitalKeyStore['signingKey']>>;
  masking: Awaited<ReturnType<HospitalKeyStore['maskingKey']>>;
  /** Signing keys retired by rotations, oldest first (the hospital's older ledger entries verify under them). */
  previousSigningPublicKeys: string[];
}

/**
 * The hospital job's check before it touches any data: the key store holds the key the operator
 * enrolled, and the hospital is not revoked. Read only — a job has no write access to
 * `hospitals/{id}`. Refusals are EnrolmentErrors (the operator's to fix: enrol, rotate).
 */
export async function confirmOwnEnrolment(
  hospitalId: string,
  deps: { documents: Pick<DocumentStore, 'get'>; keys: HospitalKeyStore },
): Promise<EnrolledKeys> {
  const lookup = await readEnrolment(deps.documents, hospitalId);
  if (!lookup.ok) throw new EnrolmentError(lookup.reason);
  const enrolment = lookup.enrolment;
  if (!enrolment.enabled)
    throw new EnrolmentError(
      `hospital ${hospitalId} is revoked${enrolment.revocationReason ? ` (${enrolment.revocationReason})` : ''}; its jobs do not run`,
    );
  const signing = await deps.keys.signingKey(hospitalId);
  const masking = await deps.keys.maskingKey(hospitalId);
  if (signing.publicKey !== enrolment.signingPublicKey)
    throw new EnrolmentError(
      `hospital ${hospitalId}'s key store holds signing key ${fingerprint(signing.publicKey)}, but ${fingerprint(enrolment.signingPublicKey)} is enrolled: restore the enrolled key, or have the operator rotate to this one (himas hospitals rotate ${hospitalId})`,
    );
  if (enrolment.maskingPublicKey !== undefined && masking.publicKey !== enrolment.maskingPublicKey)
    throw new EnrolmentError(
      `hospital ${hospitalId}'s key store holds another masking key than the enrolled one; have the operator rotate it (himas hospitals rotate ${hospitalId})`,
    );
  return {
    signing,
    masking,
    previousSigningPublicKeys: enrolment.previousKeys.map((k) => k.signingPublicKey),
  };
}

/** First 12 hex digits of the raw key: enough to compare keys by eye in a log line. */
export function fingerprint(publicKeyBase64: string): string {
  return Buffer.from(publicKeyBase64, 'base64').toString('hex').slice(0, 12);
}

function checkPublicKeys(hospitalId: string, keys: HospitalPublicKeys): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(hospitalId))
    throw new EnrolmentError(
      `bad hospital id '${hospitalId}': letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  try {
    importSigningPublicKey(keys.signingPublicKey);
  } catch {
    throw new EnrolmentError(
      `the signing key of ${hospitalId} is not a raw Ed25519 public key (32 bytes, base64)`,
    );
  }
  try {
    importMaskingPublicKey(keys.maskingPublicKey);
  } catch {
    throw new EnrolmentError(
      `the masking key of ${hospitalId} is not a raw X25519 public key (32 bytes, base64)`,
    );
  }
}

async function existingEnrolment(deps: OperatorDeps, hospitalId: string): Promise<HospitalEnrolment> {
  return HospitalEnrolmentSchema.parse(await deps.documents.get(paths.hospital(hospitalId)));
}

function audit(deps: OperatorDeps, hospitalId: string, action: string, reason: string): Promise<void> {
  return recordAudit(
    deps.documents,
    { runId: null, round: null, actor: deps.operator, action, outcome: 'info', reason, subject: hospitalId },
    deps.clock.now(),
  );
}
