import { z } from 'zod';
import { HospitalEvaluationSchema } from './metrics';
import { DpEventDataSchema, PrivacyGuaranteeSchema } from './privacy';
import { RevealBundleSchema } from './secure-aggregation';

/**
 * Every HIMAS event travels in this envelope (ARCHITECTURE.md section 2). `id` is deterministic,
 * e.g. `update:<runId>:<round>:<hospital>`, so a redelivered or re-sent event is recognised.
 *
 * 1.1 adds `signature`: the sending hospital's Ed25519 signature over the rest of the envelope
 * (src/runtime/hospital-event-signing.ts), required on every HOSPITAL_EVENT_TYPES event. 1.0
 * envelopes still parse (events from the platform itself), but an unsigned hospital event is refused.
 */
export const SPEC_VERSION = '1.1';
export const SPEC_VERSIONS = ['1.0', '1.1'] as const;

export const TOPICS = {
  rounds: 'himas-rounds',
  updates: 'himas-updates',
  models: 'himas-models',
  alerts: 'himas-alerts',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Dead-letter topic of a topic: `<topic>-dead-letter`. */
export const deadLetterTopic = (topic: string): string => `${topic}-dead-letter`;

/**
 * The subscription that keeps a dead-letter topic's messages until an operator replays them
 * (`himas deadletter`): `<topic>-dead-letter-hold` (Terraform's dead_letter_hold). Pub/Sub keeps a
 * message only for a topic's subscriptions, so without it a dead letter would be dropped.
 */
export const deadLetterHoldSubscription = (topic: string): string => `${deadLetterTopic(topic)}-hold`;

const identifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');
export const RunIdSchema = identifier;
export const HospitalIdSchema = identifier;
const isoTime = z.iso.datetime({ offset: true });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');

const RoundStartedData = z.object({
  expectedHospitals: z.array(HospitalIdSchema).min(1),
  baseModelVersionId: z.string().min(1),
  deadline: isoTime,
});
const RoundDeadlineData = z.object({ deadline: isoTime });
const UpdateSubmittedData = z.object({
  hospitalId: HospitalIdSchema,
  baseModelVersionId: z.string().min(1),
  blobPath: z.string().min(1),
  sha256: sha256Hex,
  /** The hospital's declared (public) cohort size: plain FedAvg's weight. Never the exact count. */
  numExamples: z.number().int().min(1),
  numParameters: z.number().int().min(1),
  /** Only without DP-SGD (the run then has no patient-level guarantee to keep); null otherwise. */
  trainLoss: z.number().min(0).nullable(),
  /**
   * The hospital's noisy evaluation of the incoming model (a DP release on its test split), only
   * when the run evaluates every round; null otherwise.
   */
  baseEvaluation: HospitalEvaluationSchema.nullable(),
  /** The published ledger entry this update's privacy was charged at (the aggregator recomputes from it). */
  ledgerSequence: z.number().int().min(0),
  /** Ed25519 signature (base64) over run, round, hospital, base model, weight and the blob. */
  signature: z.string().min(1),
  /** Set when the blob is a masked fixed-point int32 update (secure aggregation); null = float32. */
  masking: z
    .object({
      scheme: z.string().min(1),
      scale: z.number().gt(0),
      participants: z.array(HospitalIdSchema).min(1),
    })
    .nullable()
    .default(null),
});
const RoundClosedData = z.object({
  modelVersionId: z.string().min(1),
  participants: z.array(HospitalIdSchema),
});
const RoundFailedData = z.object({ reason: z.string().min(1), received: z.array(HospitalIdSchema) });
const ModelPublishedData = z.object({
  modelVersionId: z.string().min(1),
  parentVersionId: z.string().nullable(),
  artifactPath: z.string().min(1),
  sha256: sha256Hex,
  participants: z.array(HospitalIdSchema),
  privacy: z.array(PrivacyGuaranteeSchema),
});
const PrivacyAlertData = z.object({
  level: z.enum(['warning', 'critical', 'halt']),
  unit: z.enum(['hospital', 'patient']),
  epsilon: z.number().nullable(),
  budgetEpsilon: z.number().nullable(),
  message: z.string(),
});
const SurveillanceAlertData = z.object({
  /** A hospital, or 'all' for the series pooled over hospitals. */
  hospitalId: HospitalIdSchema,
  signal: z.string().min(1),
  /** Week of the alarm, counted from the run's surveillancePeriodStart (week 0). */
  week: z.number().int().min(0),
  weekStart: z.iso.date(),
  /** Estimated excess count over the run-up to the alarm (from DP-noised counts). */
  size: z.number(),
  message: z.string(),
});
/**
 * The guarantee of one aggregate release by one hospital: one Gaussian mechanism on its table, the
 * patient (one stay each) as the unit, ε of this release alone at δ from the same accountant as
 * training. It is part of the hospital's ledger and of its run total.
 */
const ReleasePrivacyData = z.object({
  unit: z.literal('patient'),
  epsilon: z.number().min(0).nullable(),
  delta: z.number().gt(0).lt(1),
  noiseMultiplier: z.number().gt(0),
  l2Sensitivity: z.number().gt(0),
  /** Standard deviation of the noise on each released number: noiseMultiplier · l2Sensitivity. */
  noiseStd: z.number().gt(0),
  event: DpEventDataSchema,
});
const SurveillanceReportedData = z.object({
  hospitalId: HospitalIdSchema,
  periodStart: z.iso.date(),
  signals: z.array(z.string().min(1)).min(1),
  /** counts[week][signal], DP-noised (real numbers, may be negative). */
  counts: z.array(z.array(z.number())).min(1),
  privacy: ReleasePrivacyData,
});
const TreatmentReportedData = z.object({
  hospitalId: HospitalIdSchema,
  treatment: z.literal('vasopressor_day1'),
  outcome: z.literal('label_inhospital_mortality'),
  /** Public cut points of the severity score that define the strata (not computed from the data). */
  stratumCuts: z.array(z.number()),
  /**
   * Per stratum: a treated & died, b treated & survived, c untreated & died, d untreated & survived,
   * noised and not clamped (a cell may be slightly negative: clamping would bias the pooled OR).
   */
  tables: z.array(
    z.object({
      stratum: z.number().int().min(0),
      a: z.number(),
      b: z.number(),
      c: z.number(),
      d: z.number(),
    }),
  ),
  privacy: ReleasePrivacyData,
});
const EvaluationReportedData = HospitalEvaluationSchema;
/**
 * A survivor's reveal for a masked round (schemas/secure-aggregation.ts RevealBundle: one share or
 * pair seed per participant, signed inside by the survivor's identity key). The hospital publishes
 * it; only the aggregator, after verifying the event signature, the reveal and the round's claim,
 * records it in `runs/{runId}/rounds/{round}/seeds/{hospital}` (RevealedShares).
 */
const SeedsRevealedData = z.object({
  hospitalId: HospitalIdSchema,
  reveal: RevealBundleSchema,
});

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z
    .object({
      type: z.literal(type),
      specVersion: z.enum(SPEC_VERSIONS),
      id: z.string().min(1).max(512),
      runId: RunIdSchema,
      round: z.number().int().min(0),
      time: isoTime,
      data,
      /** Ed25519 signature (base64) of the hospital named in `data.hospitalId`; see SPEC_VERSION. */
      signature: z.string().min(1).optional(),
    })
    .strict();

export const EventSchemas = {
  'round.started': envelope('round.started', RoundStartedData),
  'round.deadline': envelope('round.deadline', RoundDeadlineData),
  'update.submitted': envelope('update.submitted', UpdateSubmittedData),
  'round.closed': envelope('round.closed', RoundClosedData),
  'round.failed': envelope('round.failed', RoundFailedData),
  'model.published': envelope('model.published', ModelPublishedData),
  'privacy.alert': envelope('privacy.alert', PrivacyAlertData),
  'surveillance.alert': envelope('surveillance.alert', SurveillanceAlertData),
  'evaluation.reported': envelope('evaluation.reported', EvaluationReportedData),
  'surveillance.reported': envelope('surveillance.reported', SurveillanceReportedData),
  'treatment.reported': envelope('treatment.reported', TreatmentReportedData),
  'seeds.revealed': envelope('seeds.revealed', SeedsRevealedData),
} as const;

export type EventType = keyof typeof EventSchemas;
export const EVENT_TYPES = Object.keys(EventSchemas) as EventType[];

export const HimasEventSchema = z.discriminatedUnion('type', [
  EventSchemas['round.started'],
  EventSchemas['round.deadline'],
  EventSchemas['update.submitted'],
  EventSchemas['round.closed'],
  EventSchemas['round.failed'],
  EventSchemas['model.published'],
  EventSchemas['privacy.alert'],
  EventSchemas['surveillance.alert'],
  EventSchemas['evaluation.reported'],
  EventSchemas['surveillance.reported'],
  EventSchemas['treatment.reported'],
  EventSchemas['seeds.revealed'],
]);
export type HimasEvent = z.infer<typeof HimasEventSchema>;
export type EventOf<T extends EventType> = z.infer<(typeof EventSchemas)[T]>;

/** The topic each event type is published on. */
export const TOPIC_OF: Record<EventType, TopicName> = {
  'round.started': TOPICS.rounds,
  'round.deadline': TOPICS.rounds,
  'round.closed': TOPICS.rounds,
  'round.failed': TOPICS.rounds,
  'update.submitted': TOPICS.updates,
  'evaluation.reported': TOPICS.updates,
  'surveillance.reported': TOPICS.updates,
  'treatment.reported': TOPICS.updates,
  'seeds.revealed': TOPICS.updates,
  'model.published': TOPICS.models,
  'privacy.alert': TOPICS.alerts,
  'surveillance.alert': TOPICS.alerts,
};

/** Events a hospital sends: each names its sender in `data.hospitalId` and carries its signature. */
export const HOSPITAL_EVENT_TYPES = [
  'update.submitted',
  'evaluation.reported',
  'surveillance.reported',
  'treatment.reported',
  'seeds.revealed',
] as const satisfies readonly EventType[];
export type HospitalEventType = (typeof HOSPITAL_EVENT_TYPES)[number];
export type HospitalEvent = EventOf<HospitalEventType>;

export function isHospitalEvent(event: HimasEvent): event is HospitalEvent {
  return (HOSPITAL_EVENT_TYPES as readonly string[]).includes(event.type);
}
