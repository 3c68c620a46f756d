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
});
export type PrivacyGuarantee = z.infer<typeof PrivacyGuaranteeSchema>;
