import { z } from 'zod';
import { HospitalEvaluationSchema, MetricsSchema } from './metrics';
import { DpEventDataSchema, PrivacyGuaranteeSchema } from './privacy';
import { TrainingConfigSchema } from './training-config';

/**
 * Firestore documents (ARCHITECTURE.md section 2). Paths:
 *   runs/{runId}                                    RunDocument
 *   runs/{runId}/statistics/{hospitalId}            StatisticsReceipt (federated feature statistics)
 *   runs/{runId}/rounds/{round}                     RoundDocument
 *   runs/{runId}/rounds/{round}/updates/{hospital}  UpdateReceipt
 *   runs/{runId}/rounds/{round}/seeds/{survivor}    RevealedSeeds (secure aggregation dropouts)
 *   models/{versionId}                              ModelVersionDocument
 *   models/{versionId}/evaluations/{hospitalId}     HospitalEvaluation
 *   hospitals/{hospitalId}                          HospitalEnrolment (public signing key)
 *   audit/{id}                                      AuditRecord
 */
export const paths = {
  run: (runId: string) => `runs/${runId}`,
  runs: () => 'runs',
  statistics: (runId: string) => `runs/${runId}/statistics`,
  statisticsReceipt: (runId: string, hospitalId: string) => `runs/${runId}/statistics/${hospitalId}`,
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
  audit: (id: string) => `audit/${id}`,
  audits: () => 'audit',
} as const;

/** Round ids are zero-padded so documents list in round order. */
export const roundKey = (round: number): string => String(round).padStart(4, '0');

/** Blob keys (ARCHITECTURE.md section 2). */
export const blobPaths = {
  update: (runId: string, round: number, hospitalId: string) =>
    `runs/${runId}/rounds/${roundKey(round)}/updates/${hospitalId}.bin`,
  statistics: (runId: string, hospitalId: string) => `runs/${runId}/statistics/${hospitalId}.json`,
  /** A hospital's patient-level ledger: one entry per training attempt, written before it trains. */
  patientLedger: (runId: string, hospitalId: string) => `runs/${runId}/privacy/${hospitalId}/`,
  patientLedgerEntry: (runId: string, hospitalId: string, round: number, attempt: string) =>
    `runs/${runId}/privacy/${hospitalId}/${roundKey(round)}-${attempt}.json`,
  /** A hospital's aggregate release (surveillance counts, treatment tables), kept to re-send, never re-drawn. */
  release: (runId: string, hospitalId: string, kind: string) =>
    `runs/${runId}/releases/${hospitalId}/${kind}.json`,
  /** The hospital's ledger of aggregate releases: one entry per attempt, written before it reads the data. */
  releaseLedger: (runId: string, hospitalId: string) => `runs/${runId}/releases/${hospitalId}/ledger/`,
  releaseLedgerEntry: (runId: string, hospitalId: string, kind: string, attempt: string) =>
    `runs/${runId}/releases/${hospitalId}/ledger/${kind}-${attempt}.json`,
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
});
export type RunDocument = z.infer<typeof RunDocumentSchema>;

export const StatisticsReceiptSchema = z.object({
  hospitalId: z.string(),
  blobPath: z.string(),
  sha256: z.string(),
  rows: z.number().int().min(0),
  receivedAt: isoTime,
});
export type StatisticsReceipt = z.infer<typeof StatisticsReceiptSchema>;

/** `awaiting-seeds`: a masked round lost participants; the survivors must reveal their seeds with them. */
export const RoundStatusSchema = z.enum(['open', 'awaiting-seeds', 'aggregating', 'closed', 'failed']);
export type RoundStatus = z.infer<typeof RoundStatusSchema>;

/** Pairwise masks from X25519 + HKDF seeds, AES-256-CTR expansion, fixed point mod 2^32. */
export const MASKING_SCHEME = 'pairwise-x25519-aes-ctr-v1';

export const RoundDocumentSchema = z.object({
  runId: z.string(),
  round: z.number().int().min(1),
  status: RoundStatusSchema,
  expectedHospitals: z.array(z.string()).min(1),
  quorum: z.number().int().min(1),
  baseModelVersionId: z.string(),
  openedAt: isoTime,
  deadline: isoTime,
  /** Held by the aggregator instance that is aggregating; another may take over once it expires. */
  lease: z.object({ owner: z.string(), expiresAt: isoTime }).nullable(),
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
  numExamples: z.number().int().min(0),
  norm: z.number().min(0).nullable(),
  trainLoss: z.number().nullable(),
  trainSeconds: z.number().min(0),
  receivedAt: isoTime,
  /** The hospital's patient-level guarantee after this round (null without DP-SGD). */
  patientPrivacy: PrivacyGuaranteeSchema.nullable().default(null),
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
  /** Pooled metrics from the hospitals' evaluations, filled in as they arrive. */
  pooledMetrics: MetricsSchema.nullable(),
  /** Set when the privacy guardian halted the run at this version: never serve it. */
  halted: z.boolean(),
});
export type ModelVersionDocument = z.infer<typeof ModelVersionDocumentSchema>;

export { HospitalEvaluationSchema };

/** `hospitals/{id}`: the enrolment of a hospital, with the public key its updates must verify under. */
export const HospitalEnrolmentSchema = z.object({
  hospitalId: z.string(),
  /** Raw Ed25519 public key, base64. */
  signingPublicKey: z.string().min(1),
  /** Raw X25519 public key, base64: peers derive pairwise masking seeds with it (absent in old enrolments). */
  maskingPublicKey: z.string().min(1).optional(),
  enrolledAt: isoTime,
  enabled: z.boolean(),
});
export type HospitalEnrolment = z.infer<typeof HospitalEnrolmentSchema>;

/**
 * `runs/{runId}/rounds/{round}/seeds/{survivor}`: a survivor's pairwise seeds with exactly the
 * hospitals the round declared dropped (base64, 32 bytes each), for the aggregator to remove masks.
 */
export const RevealedSeedsSchema = z.object({
  survivorId: z.string(),
  seeds: z.array(z.object({ droppedId: z.string(), seed: z.string().min(1) })),
  revealedAt: isoTime,
});
export type RevealedSeeds = z.infer<typeof RevealedSeedsSchema>;

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
