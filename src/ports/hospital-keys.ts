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

export interface HospitalKeyStore {
  /** The hospital's signing key, created on first use. */
  signingKey(hospitalId: string): Promise<HospitalSigningKey>;
  /** The hospital's masking key, created on first use. */
  maskingKey(hospitalId: string): Promise<HospitalMaskingKey>;
}
