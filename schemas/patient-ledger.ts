import { z } from 'zod';
import { DpEventDataSchema } from './privacy';

/**
 * One entry of a hospital's patient-level privacy ledger: the DP-SGD mechanism of one training
 * attempt, written BEFORE the attempt touches the data, so a crashed or retried attempt is still
 * charged (the patients' data was used whether or not the update arrived). ε is always recomputed
 * from the entries. The ledger belongs to the cohort (the hospital's patients), not to a run.
 */
export const PatientLedgerEntrySchema = z.object({
  runId: z.string().min(1),
  /** 0 only in a run's public copy, for the composed entries of earlier runs on the same cohort. */
  round: z.number().int().min(0),
  attempt: z.string().min(1),
  chargedAt: z.string(),
  event: DpEventDataSchema,
  noiseMultiplier: z.number().min(0),
  samplingProbability: z.number().min(0).max(1),
  steps: z.number().int().min(0),
  exampleClipNorm: z.number().gt(0),
});
export type PatientLedgerEntry = z.infer<typeof PatientLedgerEntrySchema>;
