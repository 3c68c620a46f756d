import { createHash, randomUUID } from 'node:crypto';
import { blobPaths } from '../../schemas/documents';
import { PatientLedgerEntrySchema, type PatientLedgerEntry } from '../../schemas/patient-ledger';
import type { DpEventData, PrivacyGuarantee } from '../../schemas/privacy';
import type { TrainingConfig } from '../../schemas/training-config';
import type { CohortRecord } from '../core/data';
import {
  composedEvent,
  computeEpsilon,
  dpSgdPrivacyEvent,
  planPatientLevelDp,
  type DpEvent,
  type PatientLevelPlan,
} from '../core/privacy';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { PatientLedgerStore } from '../ports/patient-ledger-store';

/**
 * Patient-level privacy of one hospital's cohort across runs. The hospital's own ledger (a
 * PatientLedgerStore, keyed by a fingerprint of the training split) is the source of truth: every
 * training attempt is appended to it BEFORE it touches the data, a run's noise is calibrated to the
 * budget that remains, and a job refuses to train when the next charge would exceed the cohort's
 * lifetime budget. A public copy of the run's part of the ledger goes to the run's blobs
 * (`runs/<run>/privacy/<hospital>/`), so the privacy guardian can recompute every claim.
 */

/** A refused charge: the message says what, where and what to do. */
export class PatientBudgetExhaustedError extends Error {}

/** sha256 of the training split's records in file order: the same patients, the same ledger. */
export function cohortFingerprint(train: readonly CohortRecord[]): string {
  const hash = createHash('sha256');
  for (const record of train) hash.update(`${JSON.stringify(record)}\n`);
  return hash.digest('hex');
}

/**
 * The largest noise multiplier HIMAS will plan to squeeze a run into what is left of a budget:
 * beyond it the noise drowns any signal (it is 5–10× the z of a whole run at ε = 1), so the
 * budget counts as spent and the job refuses rather than train uselessly.
 */
const MAX_PLANNED_NOISE_MULTIPLIER = 50;

/**
 * The run's DP-SGD plan for one hospital: the noise that keeps this run within
 * `patientTargetEpsilon` AND, composed with what earlier runs on the same cohort spent, within
 * `patientBudgetEpsilon`. Deterministic in N, the settings and the earlier runs' entries, so every
 * round of a run plans the same noise.
 */
export function patientPlan(
  config: TrainingConfig,
  datasetSize: number,
  earlierRuns: readonly DpEventData[] = [],
): PatientLevelPlan {
  const plan = planPatientLevelDp({
    targetEpsilon: config.patientTargetEpsilon,
    delta: config.delta,
    datasetSize,
    batchSize: config.batchSize,
    epochsPerRound: config.localEpochs,
    rounds: config.rounds,
  });
  if (earlierRuns.length === 0) return plan;
  const cumulative = (z: number) =>
    computeEpsilon(
      composedEvent([
        ...(earlierRuns as DpEvent[]),
        dpSgdPrivacyEvent(plan.samplingProbability, z, plan.totalSteps),
      ]),
      config.delta,
    ).epsilon;
  if (cumulative(plan.noiseMultiplier) <= config.patientBudgetEpsilon) return plan;
  if (!(cumulative(MAX_PLANNED_NOISE_MULTIPLIER) <= config.patientBudgetEpsilon))
    return { ...plan, noiseMultiplier: Infinity };
  // ε is non-increasing in z: bisect for the smallest z that keeps the lifetime budget.
  let lo = plan.noiseMultiplier;
  let hi = MAX_PLANNED_NOISE_MULTIPLIER;
  // 1e-4 relative: finer z changes ε in the fifth digit and costs an accountant call per step.
  while (hi - lo > 1e-4 * hi) {
    const mid = (lo + hi) / 2;
    if (cumulative(mid) <= config.patientBudgetEpsilon) hi = mid;
    else lo = mid;
  }
  return {
    ...plan,
    noiseMultiplier: hi,
    epsilon: computeEpsilon(dpSgdPrivacyEvent(plan.samplingProbability, hi, plan.totalSteps), config.delta)
      .epsilon,
  };
}

export interface PatientCharge {
  plan: PatientLevelPlan;
  cohortFingerprint: string;
}

/**
 * Plans this attempt, refuses if the cohort's lifetime budget would be exceeded, then writes the
 * attempt's mechanism to the hospital's ledger (and the run's public copy). Call it before the
 * training data is used; train with `plan.noiseMultiplier`.
 */
export async function chargeTrainingAttempt(
  deps: { blobs: BlobStore; ledger: PatientLedgerStore; clock: Clock },
  input: {
    config: TrainingConfig;
    runId: string;
    hospitalId: string;
    round: number;
    cohortFingerprint: string;
    datasetSize: number;
  },
): Promise<PatientCharge> {
  const { config, runId, hospitalId, round, cohortFingerprint: fingerprint } = input;
  const entries = await deps.ledger.read(hospitalId, fingerprint);
  const earlier = entries.filter((e) => e.runId !== runId);
  const plan = patientPlan(
    config,
    input.datasetSize,
    earlier.map((e) => e.event),
  );
  const event = dpSgdPrivacyEvent(plan.samplingProbability, plan.noiseMultiplier, plan.stepsPerRound);
  const spent = ledgerEpsilon(entries, config.delta);
  const after = ledgerEpsilon([...entries, { event } as PatientLedgerEntry], config.delta);
  if (!Number.isFinite(plan.noiseMultiplier) || after > config.patientBudgetEpsilon) {
    throw new PatientBudgetExhaustedError(
      `hospital ${hospitalId} refuses to train round ${round} of run ${runId}: its patients' lifetime patient-level budget ε = ${config.patientBudgetEpsilon} (δ = ${config.delta}) would be exceeded ` +
        `(spent ε = ${spent.toFixed(3)} over ${entries.length} training attempt(s) of ${new Set(entries.map((e) => e.runId)).size} run(s); this round would bring it to ${Number.isFinite(after) ? after.toFixed(3) : '∞'}). ` +
        `Ledger: ${deps.ledger.describe(hospitalId, fingerprint)} (\`himas privacy ledger --hospital ${hospitalId}\`). ` +
        `No data was used. To go on: train on new patients, or raise patientBudgetEpsilon if your privacy policy allows it.`,
    );
  }
  const entry: PatientLedgerEntry = {
    runId,
    round,
    attempt: randomUUID().slice(0, 8),
    chargedAt: deps.clock.now().toISOString(),
    event,
    noiseMultiplier: plan.noiseMultiplier,
    samplingProbability: plan.samplingProbability,
    steps: plan.stepsPerRound,
    exampleClipNorm: config.exampleClipNorm,
  };
  // The hospital's ledger first: a crash before the public copy over-states nothing it enforces.
  await deps.ledger.append(hospitalId, fingerprint, entry);
  if (earlier.length > 0) await publishEarlierRuns(deps.blobs, runId, hospitalId, earlier);
  await putJson(deps.blobs, blobPaths.patientLedgerEntry(runId, hospitalId, round, entry.attempt), entry);
  return { plan, cohortFingerprint: fingerprint };
}

/** Earlier runs' spending as one round-0 entry of the run's public copy (idempotent). */
async function publishEarlierRuns(
  blobs: BlobStore,
  runId: string,
  hospitalId: string,
  earlier: PatientLedgerEntry[],
): Promise<void> {
  const summary: PatientLedgerEntry = {
    runId: [...new Set(earlier.map((e) => e.runId))].join(','),
    round: 0,
    attempt: 'earlier-runs',
    chargedAt: earlier.at(-1)!.chargedAt,
    event: composedEvent(earlier.map((e) => e.event as DpEvent)),
    noiseMultiplier: earlier.at(-1)!.noiseMultiplier,
    samplingProbability: earlier.at(-1)!.samplingProbability,
    steps: earlier.reduce((n, e) => n + e.steps, 0),
    exampleClipNorm: earlier.at(-1)!.exampleClipNorm,
  };
  await putJson(blobs, blobPaths.patientLedgerEntry(runId, hospitalId, 0, summary.attempt), summary);
}

/** The cohort's cumulative patient-level guarantee: every attempt of every run on these patients. */
export async function patientGuarantee(
  ledger: PatientLedgerStore,
  config: TrainingConfig,
  hospitalId: string,
  fingerprint: string,
): Promise<PrivacyGuarantee> {
  const entries = await ledger.read(hospitalId, fingerprint);
  const last = entries.at(-1);
  const { epsilon, order } =
    entries.length === 0
      ? { epsilon: 0, order: null }
      : computeEpsilon(composedEvent(entries.map((e) => e.event as DpEvent)), config.delta);
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
    budgetEpsilon: config.patientBudgetEpsilon,
  };
}

/** ε at δ of a list of ledger entries composed (0 for none). */
export function ledgerEpsilon(
  entries: ReadonlyArray<Pick<PatientLedgerEntry, 'event'>>,
  delta: number,
): number {
  if (entries.length === 0) return 0;
  return computeEpsilon(composedEvent(entries.map((e) => e.event as DpEvent)), delta).epsilon;
}

/**
 * The DP events of a hospital's public ledger copy in a run for rounds up to `upToRound`,
 * including the round-0 entry of earlier runs on the same cohort (the guardian's check).
 */
export async function patientLedgerEvents(
  blobs: BlobStore,
  runId: string,
  hospitalId: string,
  upToRound: number,
): Promise<DpEventData[]> {
  const events: DpEventData[] = [];
  for (const path of await blobs.list(blobPaths.patientLedger(runId, hospitalId))) {
    const entry = PatientLedgerEntrySchema.parse(
      JSON.parse(Buffer.from(await blobs.get(path)).toString('utf8')),
    );
    if (entry.round <= upToRound) events.push(entry.event);
  }
  return events;
}

async function putJson(blobs: BlobStore, key: string, value: unknown): Promise<void> {
  await blobs.put(key, Buffer.from(JSON.stringify(value)), { contentType: 'application/json' });
}
