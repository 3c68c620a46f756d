import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { blobPaths } from '../../schemas/documents';
import { DpEventDataSchema, type PrivacyGuarantee } from '../../schemas/privacy';
import type { TrainingConfig } from '../../schemas/training-config';
import {
  computeEpsilon,
  dpSgdPrivacyEvent,
  planPatientLevelDp,
  type DpEvent,
  type PatientLevelPlan,
} from '../core/privacy';
import type { BlobStore } from '../ports/blob-store';

/**
 * A hospital's patient-level ledger. Every training attempt writes its DP-SGD mechanism here
 * BEFORE it touches the data, so an attempt that crashes or is retried is still charged: the
 * patients' data was used whether or not the update arrived. ε is recomputed from all entries.
 */
const LedgerEntrySchema = z.object({
  round: z.number().int().min(1),
  attempt: z.string(),
  event: DpEventDataSchema,
  noiseMultiplier: z.number().min(0),
  samplingProbability: z.number().min(0).max(1),
  steps: z.number().int().min(0),
  exampleClipNorm: z.number().gt(0),
});
type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** The same plan in every round (deterministic in the hospital's N and the run's settings). */
export function patientPlan(config: TrainingConfig, datasetSize: number): PatientLevelPlan {
  return planPatientLevelDp({
    targetEpsilon: config.patientTargetEpsilon,
    delta: config.delta,
    datasetSize,
    batchSize: config.batchSize,
    epochsPerRound: config.localEpochs,
    rounds: config.rounds,
  });
}

export async function chargeTrainingAttempt(
  blobs: BlobStore,
  input: {
    runId: string;
    hospitalId: string;
    round: number;
    plan: PatientLevelPlan;
    exampleClipNorm: number;
  },
): Promise<void> {
  const attempt = randomUUID().slice(0, 8);
  const entry: LedgerEntry = {
    round: input.round,
    attempt,
    event: dpSgdPrivacyEvent(
      input.plan.samplingProbability,
      input.plan.noiseMultiplier,
      input.plan.stepsPerRound,
    ),
    noiseMultiplier: input.plan.noiseMultiplier,
    samplingProbability: input.plan.samplingProbability,
    steps: input.plan.stepsPerRound,
    exampleClipNorm: input.exampleClipNorm,
  };
  await blobs.put(
    blobPaths.patientLedgerEntry(input.runId, input.hospitalId, input.round, attempt),
    Buffer.from(JSON.stringify(entry)),
    {
      contentType: 'application/json',
    },
  );
}

/** The hospital's patient-level guarantee from every attempt charged so far in this run. */
export async function patientGuarantee(
  blobs: BlobStore,
  config: TrainingConfig,
  runId: string,
  hospitalId: string,
): Promise<PrivacyGuarantee> {
  const entries: LedgerEntry[] = [];
  for (const path of await blobs.list(blobPaths.patientLedger(runId, hospitalId))) {
    entries.push(LedgerEntrySchema.parse(JSON.parse(Buffer.from(await blobs.get(path)).toString('utf8'))));
  }
  const last = entries.at(-1);
  const { epsilon, order } =
    entries.length === 0
      ? { epsilon: 0, order: null }
      : computeEpsilon({ kind: 'composed', events: entries.map((e) => e.event as DpEvent) }, config.delta);
  return {
    unit: 'patient',
    epsilon: Number.isFinite(epsilon) ? epsilon : null,
    delta: config.delta,
    order: Number.isFinite(epsilon) ? order : null,
    noiseMultiplier: last?.noiseMultiplier ?? 0,
    clipNorm: last?.exampleClipNorm ?? config.exampleClipNorm,
    samplingProbability: last?.samplingProbability ?? 0,
    steps: entries.reduce((n, e) => n + e.steps, 0),
    accountant: 'rdp-sampled-gaussian+balle2020',
    budgetEpsilon: config.patientTargetEpsilon,
  };
}

/** The DP events a hospital's patient-level ledger holds for rounds up to `upToRound` (the guardian's check). */
export async function patientLedgerEvents(
  blobs: BlobStore,
  runId: string,
  hospitalId: string,
  upToRound: number,
): Promise<z.infer<typeof DpEventDataSchema>[]> {
  const events: z.infer<typeof DpEventDataSchema>[] = [];
  for (const path of await blobs.list(blobPaths.patientLedger(runId, hospitalId))) {
    const entry = LedgerEntrySchema.parse(JSON.parse(Buffer.from(await blobs.get(path)).toString('utf8')));
    if (entry.round <= upToRound) events.push(entry.event);
  }
  return events;
}
