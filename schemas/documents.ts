import { z } from 'zod';
import { RevealBundleSchema } from './secure-aggregation';
import { HospitalEvaluationSchema, PooledQualitySchema } from './metrics';
import { DpEventDataSchema, HospitalPrivacySchema, PrivacyGuaranteeSchema } from './privacy';
import { TrainingConfigSchema } from './training-config';

/**
 * Firestore documents (ARCHITECTURE.md section 2). Paths:
 *   runs/{runId}                                    RunDocument
 *   runs/{runId}/rounds/{round}                     RoundDocument
 *   runs/{runId}/rounds/{round}/updates/{hospital}  UpdateReceipt
 *   runs/{runId}/rounds/{round}/seeds/{survivor}    RevealedShares (secure aggregation reveal)
 *   models/{versionId}                              ModelVersionDocument
 *   models/{versionId}/evaluations/{hospitalId}     HospitalEvaluation
 *   hospitals/{hospitalId}                          HospitalEnrolment (public signing key)
 *   audit/{id}                                      AuditRecord
 */
export const paths = {
  run: (runId: string) => `runs/${runId}`,
  runs: () => 'runs',
  rounds: (runId: string) => `runs/${runId}/rounds`,
  round: (runId: string, round: number) => `runs/${runId}/rounds/${roundKey(round)}`,
  updates: (runId: string, round: number) => `runs/${runId}/rounds/${roundKey(round)}/updates`,
  update: (runId: string, round: number, hospitalId: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/updates/${hospitalId}`,
  revealedSeeds: (runId: string, round: number) => `runs/${runId}/rounds/${roundKey(round)}/seeds`,
  revealedSeed: (runId: string, round: number, survivorId: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/seeds/${survivorId}`,
  models: () => 'models',
  model: (versionId: string) => `models/${versionId}`,
  evaluations: (versionId: string) => `models/${versionId}/evaluations`,
  evaluation: (versionId: string, hospitalId: string) => `models/${versionId}/evaluations/${hospitalId}`,
  hospital: (hospitalId: string) => `hospitals/${hospitalId}`,
  hospitals: () => 'hospitals',
  audit: (id: string) => `audit/${id}`,
  audits: () => 'audit',
} as const;

/** Round ids are zero-padded so documents list in round order. */
export const roundKey = (round: number): string => String(round).padStart(4, '0');

/** Blob keys (ARCHITECTURE.md section 2). */
export const blobPaths = {
  update: (runId: string, round: number, hospitalId: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/updates/${hospitalId}.bin`,
  /**
   * The aggregator's copy of an accepted update, named by its hash: what the round's close
   * re-verifies and sums, out of the hospital's reach (it may overwrite its own upload path).
   */
  acceptedUpdate: (runId: string, round: number, hospitalId: string, sha256: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/accepted/${hospitalId}-${sha256}.bin`,
  /**
   * The published copy of a hospital's privacy ledger (signed, chained entries; the hospital's own
   * store holds the authoritative one): `ledgers/<hospital>/<8-digit sequence>.json`.
   */
  ledgerMirrorRoot: 'ledgers',
  ledgerMirror: (hospitalId: string) => `ledgers/${hospitalId}/`,
  /** A hospital's aggregate release (surveillance counts, treatment tables), kept to re-send, never re-drawn. */
  release: (runId: string, hospitalId: string, kind: string) =>
    `runs/${runId}/releases/${hospitalId}/${kind}.json`,
  /** A hospital's noisy evaluation of a model version, kept to re-send, never re-drawn. */
  evaluationRelease: (versionId: string, hospitalId: string) =>
    `models/${versionId}/evaluations/${hospitalId}.json`,
  /** A hospital's signed round masking public keys for every round of a run (secure aggregation). */
  roundKeys: (runId: string, hospitalId: string) => `runs/${runId}/masking/${hospitalId}.round-keys.json`,
  /**
   * A copy of the hospital's latest masking bundle of the round, at a name its peers know without
   * listing (a hospital's cloud identity reads objects by name only): what a survivor decrypts
   * its round-key share from when the hospital dropped before its update arrived.
   */
  latestMaskingBundle: (runId: string, round: number, hospitalId: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/masking/${hospitalId}/latest.json`,
  /** A hospital's masking shares for the update with that SHA-256 (one per attempt). */
  maskingBundle: (runId: string, round: number, hospitalId: string, updateSha256: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/masking/${hospitalId}/${updateSha256}.json`,
  /** What a survivor revealed for a round, kept so it never reveals anything else for it. */
  reveal: (runId: string, round: number, hospitalId: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/masking/${hospitalId}.reveal.json`,
  strategyState: (runId: string, round: number) => `runs/${runId}/strategy-state/${roundKey(round)}.json`,
  modelPrefix: (versionId: string) => `models/${versionId}/`,
} as const;

/** Model versions are named after their run and round: `<runId>-r0003`. */
export const modelVersionId = (runId: string, round: number): string => `${runId}-r${roundKey(round)}`;

const isoTime = z.iso.datetime({ offset: true });

export const RunStatusSchema = z.enum(['running', 'completed', 'failed', 'halted']);

export const RunDocumentSchema = z.object({
  runId: z.string(),
  status: RunStatusSchema,
  createdAt: isoTime,
  updatedAt: isoTime,
  config: TrainingConfigSchema,
  hospitals: z.array(z.string()).min(1),
  /** Where the hospitals' cohorts come from (a CSV folder locally, BigQuery datasets in the cloud). */
  dataSource: z.object({ kind: z.enum(['csv', 'bigquery']), location: z.string() }),
  /** The last round that closed or failed (0 before the first). */
  currentRound: z.number().int().min(0),
  latestModelVersionId: z.string().nullable(),
  /** Hospital-level privacy ledger: one DP event per closed round; ε is recomputed from it. */
  ledger: z.array(DpEventDataSchema),
  privacy: z.array(PrivacyGuaranteeSchema),
  /** Set by the privacy guardian (budget) or the orchestrator (convergence); the driver reads it. */
  halt: z.object({ reason: z.string(), by: z.string(), at: isoTime }).nullable(),
  completedAt: isoTime.nullable(),
  /** Where a local run writes its report and model (so `--resume` writes to the same place). */
  outputDirectory: z.string().nullable().default(null),
  /**
   * Each hospital's declared number of training stays: public by declaration (the operator sets it,
   * e.g. "about 1,500"), never counted from the records at run time. DP-SGD plans its sampling rate
   * q = batch / declared from it, and updates are weighted by it, so the exact cohort size never
   * leaves a hospital.
   */
  declaredTrainStays: z.record(z.string(), z.number().int().min(1)).default({}),
});
export type RunDocument = z.infer<typeof RunDocumentSchema>;

/** `awaiting-seeds`: a masked round's updates are in; the survivors must reveal their shares (and seeds for dropouts). */
export const RoundStatusSchema = z.enum(['open', 'awaiting-seeds', 'aggregating', 'closed', 'failed']);
export type RoundStatus = z.infer<typeof RoundStatusSchema>;

/**
 * Double masking (self-mask plus pairwise masks from per-round X25519 keys, AES-256-CTR
 * expansion, fixed point mod 2^32, t-of-n Shamir shares; docs/architecture.md §5).
 */
export const MASKING_SCHEME = 'double-masked-x25519-aes-ctr-shamir-v2';

/**
 * A process as a lease records it: its machine (boot id: the same host name after a reboot is
 * another boot, and every pid of the old boot is gone), its pid and its start time in clock ticks
 * since boot (a reused pid is another process with another start time).
 */
export const LeaseHolderSchema = z.object({
  host: z.string(),
  bootId: z.string(),
  pid: z.number().int().positive(),
  startTicks: z.string(),
});
export type LeaseHolder = z.infer<typeof LeaseHolderSchema>;

export const RoundDocumentSchema = z.object({
  runId: z.string(),
  round: z.number().int().min(1),
  status: RoundStatusSchema,
  expectedHospitals: z.array(z.string()).min(1),
  quorum: z.number().int().min(1),
  baseModelVersionId: z.string(),
  openedAt: isoTime,
  deadline: isoTime,
  /**
   * Held by the aggregator instance that is aggregating, renewed while it works; another may take
   * over once it expires, or at once when `holder` names a process on this machine that is gone.
   */
  lease: z
    .object({
      owner: z.string(),
      expiresAt: isoTime,
      /** The holding process, where the aggregator can prove a process's death (the local stacks). */
      holder: LeaseHolderSchema.nullable().default(null),
    })
    .nullable(),
  closedAt: isoTime.nullable(),
  modelVersionId: z.string().nullable(),
  participants: z.array(z.string()),
  failureReason: z.string().nullable(),
  /** Secure aggregation of this round, fixed when it opens; null = updates travel unmasked. */
  masking: z
    .object({
      scheme: z.literal(MASKING_SCHEME),
      /** U1: every hospital masks against every other one of these (by enrolled X25519 key). */
      participants: z.array(z.string()).min(1),
      clipNorm: z.number().gt(0),
      /** Fixed-point units per float unit (chooseFixedPointScale for clipNorm and the participants). */
      scale: z.number().gt(0),
      /** No sum of fewer accepted updates is unmasked (the run's secureAggregationMinHospitals). */
      minHospitals: z.number().int().min(2).default(3),
      /** t of the t-of-n Shamir shares of every self-mask seed and round masking key. */
      threshold: z.number().int().min(2),
    })
    .nullable()
    .default(null),
  /** Participants whose masked update never arrived (set with status awaiting-seeds). */
  droppedHospitals: z.array(z.string()).default([]),
  /** When the survivors' seed reveal must be complete; a round.deadline carrying it ends the wait. */
  seedsDeadline: isoTime.nullable().default(null),
});
export type RoundDocument = z.infer<typeof RoundDocumentSchema>;

export const UpdateReceiptSchema = z.object({
  hospitalId: z.string(),
  eventId: z.string(),
  status: z.enum(['accepted', 'rejected']),
  reason: z.string().nullable(),
  blobPath: z.string(),
  sha256: z.string(),
  /** The hospital's declared cohort size (public), the weight plain FedAvg gives the update. */
  numExamples: z.number().int().min(0),
  /** L2 norm of an unmasked update, computed here from the blob (null when masked). */
  norm: z.number().min(0).nullable(),
  /** Training loss, only from hospitals training without DP-SGD (no guarantee to keep). */
  trainLoss: z.number().nullable(),
  receivedAt: isoTime,
  /** The published ledger entry the hospital's guarantee claim was computed at (null without a ledger). */
  ledgerSequence: z.number().int().min(0).nullable().default(null),
  /**
   * The hospital's Ed25519 update signature (update-signing.ts), kept so that the round's close
   * re-verifies every included update against the enrolled key and the blob, never trusting the
   * receipt alone. Null in receipts from before; such a receipt is never counted.
   */
  signature: z.string().nullable().default(null),
  /** Base model the update declared (signed); the close checks it against the round's. */
  baseModelVersionId: z.string().nullable().default(null),
});
export type UpdateReceipt = z.infer<typeof UpdateReceiptSchema>;

export const ModelVersionDocumentSchema = z.object({
  versionId: z.string(),
  runId: z.string(),
  round: z.number().int().min(0),
  parentVersionId: z.string().nullable(),
  createdAt: isoTime,
  /** Blob prefix holding model.json + weights.bin (TensorFlow.js layers format). */
  artifactPath: z.string(),
  /** SHA-256 of weights.bin. */
  sha256: z.string(),
  numParameters: z.number().int().min(1),
  modelSpec: z.object({
    kind: z.enum(['mlp', 'logistic']),
    inputDim: z.number().int().min(1),
    hiddenUnits: z.array(z.number().int()),
  }),
  featureNames: z.array(z.string()),
  participants: z.array(z.string()),
  privacy: z.array(PrivacyGuaranteeSchema),
  /** Each participant's patient-level guarantee, recomputed from its published ledger. */
  hospitalPrivacy: z.array(HospitalPrivacySchema).default([]),
  /** Pooled metrics from the hospitals' noisy evaluations (with the noise's intervals), as they arrive. */
  pooled: PooledQualitySchema.nullable(),
  /** Set when the privacy guardian halted the run at this version: never serve it. */
  halted: z.boolean(),
});
export type ModelVersionDocument = z.infer<typeof ModelVersionDocumentSchema>;

export { HospitalEvaluationSchema };

/** A key a hospital signed (and masked) with before a rotation, and when it was valid: [validFrom, validUntil). */
export const RetiredHospitalKeySchema = z.object({
  signingPublicKey: z.string().min(1),
  maskingPublicKey: z.string().min(1).optional(),
  validFrom: isoTime,
  validUntil: isoTime,
});
export type RetiredHospitalKey = z.infer<typeof RetiredHospitalKeySchema>;

/**
 * `hospitals/{id}`: the enrolment of a hospital, written only by the operator (`himas hospitals`),
 * with the public keys its messages must verify under. The current key is valid from keyValidFrom;
 * rotated-out keys stay in previousKeys with their validity, so the ledger entries and updates they
 * signed still verify. `enabled: false` (revoked) refuses every new message of the hospital.
 */
export const HospitalEnrolmentSchema = z.object({
  hospitalId: z.string(),
  /** Raw Ed25519 public key, base64. */
  signingPublicKey: z.string().min(1),
  /** Raw X25519 public key, base64: peers derive pairwise masking seeds with it (absent in old enrolments). */
  maskingPublicKey: z.string().min(1).optional(),
  enrolledAt: isoTime,
  enabled: z.boolean(),
  /** Since when the current key is valid (its enrolment or its rotation; old documents: enrolledAt). */
  keyValidFrom: isoTime.optional(),
  /** Rotated-out keys, oldest first. */
  previousKeys: z.array(RetiredHospitalKeySchema).default([]),
  revokedAt: isoTime.nullable().default(null),
  revocationReason: z.string().nullable().default(null),
  updatedAt: isoTime.optional(),
});
export type HospitalEnrolment = z.infer<typeof HospitalEnrolmentSchema>;

/**
 * `runs/{runId}/rounds/{round}/seeds/{survivor}`: a survivor's signed reveal (one share or pair
 * seed per participant, src/core/secure-aggregation/reveal-policy.ts), for the aggregator to unmask.
 */
export const RevealedSharesSchema = z.object({
  survivorId: z.string(),
  reveal: RevealBundleSchema,
  revealedAt: isoTime,
});
export type RevealedShares = z.infer<typeof RevealedSharesSchema>;

export const AuditRecordSchema = z.object({
  id: z.string(),
  time: isoTime,
  runId: z.string().nullable(),
  round: z.number().int().nullable(),
  actor: z.string(),
  action: z.string(),
  outcome: z.enum(['accepted', 'rejected', 'info']),
  reason: z.string().nullable(),
  subject: z.string().nullable(),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;
