import { z } from 'zod';

/** A mechanism described as data (dp_accounting's dp_event.py); the run's ledger is a list of them. */
export type DpEventData =
  | { kind: 'no-op' }
  | { kind: 'gaussian'; noiseMultiplier: number }
  | { kind: 'poisson-sampled'; samplingProbability: number; event: DpEventData }
  | { kind: 'self-composed'; event: DpEventData; count: number }
  | { kind: 'composed'; events: DpEventData[] };

export const DpEventDataSchema: z.ZodType<DpEventData> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('no-op') }),
    z.object({ kind: z.literal('gaussian'), noiseMultiplier: z.number().min(0) }),
    z.object({
      kind: z.literal('poisson-sampled'),
      samplingProbability: z.number().min(0).max(1),
      event: DpEventDataSchema,
    }),
    z.object({ kind: z.literal('self-composed'), event: DpEventDataSchema, count: z.number().int().min(0) }),
    z.object({ kind: z.literal('composed'), events: z.array(DpEventDataSchema) }),
  ]),
);

/**
 * A privacy guarantee as HIMAS states it: always with its unit, ε and δ, and how it was computed.
 * `epsilon` is null when no guarantee holds (no noise): shown as ε = ∞, never as a target.
 */
export const PrivacyGuaranteeSchema = z.object({
  unit: z.enum(['hospital', 'patient']),
  epsilon: z.number().min(0).nullable(),
  delta: z.number().gt(0).lt(1),
  /** The RDP order at which ε was attained. */
  order: z.number().nullable(),
  noiseMultiplier: z.number().min(0),
  clipNorm: z.number().gt(0),
  samplingProbability: z.number().min(0).max(1),
  /** Mechanism applications accounted (rounds for the hospital unit, steps for the patient unit). */
  steps: z.number().int().min(0),
  accountant: z.literal('rdp-sampled-gaussian+balle2020'),
  budgetEpsilon: z.number().nullable(),
  /**
   * Patient unit: the hospital whose patients are least protected (the guarantee is theirs), the
   * run's total over every mechanism it reserved or used, and that hospital's lifetime total.
   */
  hospitalId: z.string().nullable().optional(),
  lifetimeEpsilon: z.number().min(0).nullable().optional(),
  mechanisms: z.array(z.object({ mechanism: z.string(), epsilon: z.number().min(0).nullable() })).optional(),
});
export type PrivacyGuarantee = z.infer<typeof PrivacyGuaranteeSchema>;

/** ε at δ of one partition or the worse of both; null = ∞ (no guarantee). */
const EpsilonSplit = z.object({
  epsilon: z.number().min(0).nullable(),
  train: z.number().min(0).nullable(),
  test: z.number().min(0).nullable(),
});

/**
 * One hospital's patient-level guarantee as its ledger states it: the run's total and the lifetime
 * total, per partition and the worse of both, with each mechanism's share of the run. Recomputed
 * by the aggregator and the privacy guardian from the hospital's published, signed ledger — never
 * taken from what the hospital claims.
 */
export const HospitalPrivacySchema = z.object({
  hospitalId: z.string(),
  unit: z.literal('patient'),
  delta: z.number().gt(0).lt(1),
  run: EpsilonSplit,
  lifetime: EpsilonSplit,
  budgetEpsilon: z.number().gt(0),
  mechanisms: z.array(
    z.object({
      mechanism: z.string(),
      partitions: z.array(z.enum(['train', 'test'])),
      epsilon: z.number().min(0).nullable(),
      noiseMultiplier: z.number().min(0),
    }),
  ),
  /** The ledger entry the figures were computed at: entries 0..ledgerSequence. */
  ledgerSequence: z.number().int().min(0),
  ledgerSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type HospitalPrivacy = z.infer<typeof HospitalPrivacySchema>;
