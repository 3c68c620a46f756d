import { z } from 'zod';

/**
 * What hospitals publish, each under its own blob prefix, for double-masked secure aggregation
 * (src/runtime/double-masking-bundles.ts builds and verifies them; each Ed25519-signed by its sender):
 *   runs/<run>/masking/<h>.round-keys.json               RoundKeysStatement: its round masking
 *                                                        public key for every round of the run
 *   runs/<run>/rounds/<r>/masking/<h>/<sha256>.json      MaskingBundle: for the update with that
 *                                                        SHA-256, encrypted Shamir shares of its
 *                                                        self-mask seed and of its round masking key
 *   runs/<run>/rounds/<r>/masking/<h>/latest.json        the same, of its latest attempt (read by
 *                                                        name when it dropped: no listing needed)
 *   runs/<run>/rounds/<r>/masking/<h>.reveal.json        RevealBundle: what a survivor revealed (once)
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64');

export const RoundKeysStatementSchema = z.object({
  kind: z.literal('round-keys'),
  runId: z.string().min(1),
  hospitalId: z.string().min(1),
  /** Raw X25519 public key (base64) per round: what every peer masks against in that round. */
  rounds: z.array(z.object({ round: z.number().int().min(1), publicKey: base64 })).min(1),
  /** Ed25519 (base64) over the statement without this field. */
  signature: base64,
});
export type RoundKeysStatement = z.infer<typeof RoundKeysStatementSchema>;

/** Holder id → AES-256-GCM ciphertext of its share (base64 nonce ‖ body ‖ tag). */
const sealedShares = z.record(z.string(), base64);

export const MaskingBundleSchema = z.object({
  kind: z.literal('masking-shares'),
  runId: z.string().min(1),
  round: z.number().int().min(1),
  hospitalId: z.string().min(1),
  /** t of the splits; holders[i] holds the i-th share (every participant, the sender included). */
  threshold: z.number().int().min(2),
  holders: z.array(z.string().min(1)).min(2).max(255),
  /** SHA-256 of the masked update blob this attempt uploaded. */
  updateSha256: sha256Hex,
  /** SHA-256 commitment to this attempt's self-mask seed (selfMaskCommitment). */
  commitment: sha256Hex,
  selfMaskShares: sealedShares,
  maskingKeyShares: sealedShares,
  signature: base64,
});
export type MaskingBundle = z.infer<typeof MaskingBundleSchema>;

export const RevealBundleSchema = z.object({
  kind: z.literal('reveal'),
  runId: z.string().min(1),
  round: z.number().int().min(1),
  hospitalId: z.string().min(1),
  /** One entry per participant: exactly one kind each (src/core/secure-aggregation/reveal-policy.ts). */
  reveals: z.array(
    z.object({
      peerId: z.string().min(1),
      kind: z.enum(['self-mask', 'masking-key', 'pair-seed']),
      /** For a self-mask share: the update it unmasks. */
      updateSha256: sha256Hex.nullable(),
      share: base64,
    }),
  ),
  signature: base64,
});
export type RevealBundle = z.infer<typeof RevealBundleSchema>;
