import { z } from 'zod';
import { DpEventDataSchema } from './privacy';

/**
 * A hospital's privacy ledger (../shared/ARCHITECTURE.md §2: one ledger per hospital, across all runs
 * and all files of its data). Entries are numbered from 0 and chained by the SHA-256 of the previous
 * entry, each signed with the hospital's Ed25519 key, so a published copy proves its own order and
 * completeness and anyone can recompute ε from it (`himas privacy verify`). An entry holds mechanism
 * descriptions only: no record, no count, nothing computed from patient data.
 *
 * - `reservation`: the run's whole plan, charged in full before the run reads any record.
 * - `use`: written before each read of the data, naming the slots it takes (`train:<round>`,
 *   `evaluation:<version>`, `stats`); `mechanisms` is empty when the reservation covers them and
 *   carries the cost of one more use when it does not (a retried round is charged again).
 */
export const PartitionSchema = z.enum(['train', 'test']);

export const MechanismKindSchema = z.enum([
  'dp-sgd',
  'unprotected-training',
  'evaluation',
  'surveillance',
  'treatment',
]);

export const LedgerMechanismSchema = z
  .object({
    mechanism: MechanismKindSchema,
    partitions: z.array(PartitionSchema).min(1),
    slot: z.enum(['train', 'evaluation', 'stats']),
    uses: z.number().int().min(1),
    perUse: DpEventDataSchema,
    event: DpEventDataSchema,
    /** For people: the noise multiplier z and sensitivity (noise SD = z · sensitivity; null = none). */
    noiseMultiplier: z.number().min(0),
    l2Sensitivity: z.number().gt(0).nullable(),
    samplingProbability: z.number().min(0).max(1).nullable().default(null),
    stepsPerUse: z.number().int().min(0).nullable().default(null),
  })
  .strict();
export type LedgerMechanism = z.infer<typeof LedgerMechanismSchema>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const LedgerEntrySchema = z
  .object({
    version: z.literal(1),
    hospitalId: z.string().min(1),
    sequence: z.number().int().min(0),
    /** SHA-256 (hex) of the previous entry's canonical JSON; null for entry 0. */
    previousSha256: sha256Hex.nullable(),
    chargedAt: z.iso.datetime({ offset: true }),
    runId: z.string().min(1),
    kind: z.enum(['reservation', 'use']),
    slots: z.array(z.string().min(1)),
    mechanisms: z.array(LedgerMechanismSchema),
    /** The settings in force when the entry was written (for messages and audits). */
    delta: z.number().gt(0).lt(1),
    budgetEpsilon: z.number().gt(0),
    targetEpsilon: z.number().gt(0),
    /** Reservations: the public cohort size the plan used (null without DP-SGD). */
    declaredTrainStays: z.number().int().min(1).nullable(),
  })
  .strict()
  .refine((e) => (e.sequence === 0) === (e.previousSha256 === null), {
    message: 'entry 0 has no previous entry; every later entry names the SHA-256 of the one before',
  });
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** An entry as stored and published: the entry and the hospital's Ed25519 signature over it. */
export const SignedLedgerEntrySchema = z
  .object({
    entry: LedgerEntrySchema,
    /** base64 Ed25519 signature over "himas-ledger-entry-v1\n" + canonical JSON of `entry`. */
    signature: z.string().min(1),
  })
  .strict();
export type SignedLedgerEntry = z.infer<typeof SignedLedgerEntrySchema>;

/**
 * What a model version carries about one participating hospital: its whole ledger chain up to the
 * entry the version's guarantee was computed at, and the public key that signed it.
 */
export const LedgerExcerptSchema = z
  .object({
    hospitalId: z.string().min(1),
    /** Raw Ed25519 public key (base64) of the hospital, as enrolled. */
    signingPublicKey: z.string().min(1),
    /**
     * Keys the hospital signed with before rotations, oldest first: earlier entries may be signed by
     * them, and once an entry is signed by a later key no earlier one is accepted again.
     */
    previousSigningPublicKeys: z.array(z.string().min(1)).default([]),
    entries: z.array(SignedLedgerEntrySchema),
  })
  .strict();
export type LedgerExcerpt = z.infer<typeof LedgerExcerptSchema>;
