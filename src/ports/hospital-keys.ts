/**
 * A hospital's own secret store, reachable only from the hospital's job: its Ed25519 signing key
 * and its X25519 masking key (secure aggregation). The private keys never leave the hospital; the
 * public keys are enrolled in `hospitals/{id}`.
 * Locally: files under `.himas/keys` (mode 0600); in the cloud: the hospital's Secret Manager.
 */
export interface HospitalKeyPair {
  privateKeyPem: string;
  /** Raw public key, base64 (what the enrolment document stores). */
  publicKey: string;
}

/** Ed25519: signs the hospital's updates. */
export type HospitalSigningKey = HospitalKeyPair;
/** X25519: agrees a pairwise masking seed with every other participant of a masked round. */
export type HospitalMaskingKey = HospitalKeyPair;

/**
 * What a hospital's job reads: its keys, never created here. A job whose store has no key (never
 * provisioned, or deleted) fails with MissingHospitalKeyError instead of inventing a new identity:
 * a new key is enrolled only by the operator (`himas hospitals rotate`).
 */
export interface HospitalKeyStore {
  signingKey(hospitalId: string): Promise<HospitalSigningKey>;
  /** The hospital's masking key (derived from its signing key in the file store). */
  maskingKey(hospitalId: string): Promise<HospitalMaskingKey>;
}

/**
 * Provisioning a hospital's secret store: the operator's side on a laptop (the simulated hospitals'
 * stores are local files), a hospital's own key ceremony in the cloud.
 */
export interface HospitalKeyProvisioner extends HospitalKeyStore {
  /** The existing key, or a new one when the store has none (created exclusively). */
  ensureSigningKey(hospitalId: string): Promise<HospitalSigningKey>;
  /** Replaces the key with a fresh one (rotation); the old private key is gone afterwards. */
  replaceSigningKey(hospitalId: string): Promise<HospitalSigningKey>;
}

export class MissingHospitalKeyError extends Error {
  constructor(
    readonly hospitalId: string,
    where: string,
  ) {
    super(
      `hospital ${hospitalId} has no signing key in ${where}: keys are provisioned and enrolled by the operator (himas hospitals enrol ${hospitalId}, or himas hospitals rotate ${hospitalId} after a lost key)`,
    );
    this.name = 'MissingHospitalKeyError';
  }
}
