/**
 * A hospital's own secret store, reachable only from the hospital's job: its Ed25519 signing key.
 * The private key never leaves the hospital; the public key is enrolled in `hospitals/{id}`.
 * Locally: files under `.himas/keys` (mode 0600); in the cloud: the hospital's Secret Manager.
 */
export interface HospitalSigningKey {
  privateKeyPem: string;
  /** Raw Ed25519 public key, base64 (what the enrolment document stores). */
  publicKey: string;
}

export interface HospitalKeyStore {
  /** The hospital's signing key, created on first use. */
  signingKey(hospitalId: string): Promise<HospitalSigningKey>;
}
