import type { RunDocument } from '../../schemas/documents';
import type { HospitalPrivacy, PrivacyGuarantee } from '../../schemas/privacy';
import type { LedgerMechanism, SignedLedgerEntry } from '../../schemas/privacy-ledger';
import type { TrainingConfig } from '../../schemas/training-config';
import { L2_SENSITIVITY as SURVEILLANCE_L2_SENSITIVITY } from '../core/agents/surveillance-counts';
import { planRunPrivacy, type LedgerTotals, type RunPrivacyPlan } from '../core/privacy';
import { entrySha256 } from '../runtime/ledger-signing';
import {
  hospitalTotals,
  reserveRun,
  useSlots,
  type HospitalLedgerDeps,
  type LedgerSigner,
} from './hospital-ledger';

/**
 * Patient-level privacy of one hospital in one run: the run's plan (public inputs only: the
 * settings and the hospital's declared cohort size), its reservation in the hospital's ledger, the
 * charge of each use of the data, and the guarantee the ledger supports. The hospital job calls
 * these before it reads any record; the aggregator, the privacy guardian and `himas privacy`
 * recompute the same figures from the published ledger.
 */

/** How many model versions a run evaluates on each test split: the final one, and each round's base when asked. */
export function plannedEvaluations(config: Pick<TrainingConfig, 'rounds' | 'evaluateEveryRound'>): number {
  return 1 + (config.evaluateEveryRound ? config.rounds : 0);
}

/** The run's plan for one hospital; throws PrivacyPlanError (a clear reason) when it cannot fit. */
export function planForHospital(
  config: TrainingConfig,
  declaredTrainStays: number | undefined,
  hospitalId: string,
): RunPrivacyPlan {
  if (declaredTrainStays === undefined)
    throw new MissingDeclaredSizeError(
      `no declared cohort size for hospital ${hospitalId}: DP-SGD plans its sampling rate, and FedAvg weighs updates, by a public number of training stays (HIMAS never counts them from the records at run time). Declare it in the run (declaredTrainStays; Terraform variable hospitals.<id>.declared_train_stays, or cohort.json locally).`,
    );
  return planRunPrivacy({
    targetEpsilon: config.patientTargetEpsilon,
    delta: config.delta,
    rounds: config.rounds,
    dpSgd:
      config.patientPrivacy === 'dp-sgd'
        ? {
            declaredTrainStays,
            batchSize: config.batchSize,
            epochsPerRound: config.localEpochs,
          }
        : null,
    evaluations: plannedEvaluations(config),
    surveillanceNoiseMultiplier: config.surveillanceNoiseMultiplier,
    surveillanceSensitivity: SURVEILLANCE_L2_SENSITIVITY,
    treatmentNoiseMultiplier: config.treatmentNoiseMultiplier,
  });
}

export class MissingDeclaredSizeError extends Error {}

export function runPlan(run: RunDocument, hospitalId: string): RunPrivacyPlan {
  return planForHospital(run.config, run.declaredTrainStays[hospitalId], hospitalId);
}

function settingsOf(config: TrainingConfig) {
  return {
    delta: config.delta,
    budgetEpsilon: config.patientBudgetEpsilon,
    targetEpsilon: config.patientTargetEpsilon,
    waived: config.patientPrivacy === 'none',
  };
}

/**
 * The run's reservation in the hospital's ledger (written once; refused, with no record read, when
 * it would exceed the hospital's lifetime budget). Training without DP-SGD is an explicit waiver:
 * its mechanism is recorded as ε = ∞, and no later run can then claim a finite guarantee.
 */
export async function reserveRunPrivacy(
  deps: HospitalLedgerDeps,
  signer: LedgerSigner,
  run: RunDocument,
): Promise<{ entries: SignedLedgerEntry[] }> {
  const entries = await reserveRun(deps, signer, {
    runId: run.runId,
    // Planned only when the run has no reservation yet: later jobs of the run reuse it.
    plan: () => runPlan(run, signer.hospitalId),
    settings: settingsOf(run.config),
    declaredTrainStays: run.declaredTrainStays[signer.hospitalId] ?? null,
  });
  return { entries };
}

/** Charges one use of the data (the reservation covers it, or it pays again) before the data is read. */
export async function chargeUse(
  deps: HospitalLedgerDeps,
  signer: LedgerSigner,
  run: RunDocument,
  slots: string[],
  /** The entries reserveRunPrivacy returned in this job, if it ran just before (see useSlots). */
  known?: readonly SignedLedgerEntry[],
): Promise<SignedLedgerEntry[]> {
  return (await useSlots(deps, signer, { runId: run.runId, slots, settings: settingsOf(run.config), known }))
    .entries;
}

/** The mechanism the run reserved for a kind of use (its noise multiplier, rate and steps). */
export function reservedMechanism(
  entries: readonly SignedLedgerEntry[],
  runId: string,
  mechanism: LedgerMechanism['mechanism'],
): LedgerMechanism {
  const reservation = entries.find((e) => e.entry.runId === runId && e.entry.kind === 'reservation');
  const found = reservation?.entry.mechanisms.find((m) => m.mechanism === mechanism);
  if (!found) throw new Error(`run ${runId} reserved no ${mechanism} mechanism in this ledger`);
  return found;
}

/** The hospital's guarantee as its ledger (entries 0..last) states it. */
export function hospitalPrivacy(
  entries: readonly SignedLedgerEntry[],
  runId: string,
  settings: { delta: number; budgetEpsilon: number },
): HospitalPrivacy {
  if (entries.length === 0) throw new Error('an empty ledger supports no guarantee');
  const hospitalId = entries[0].entry.hospitalId;
  const { run, lifetime } = hospitalTotals(entries, runId, settings.delta);
  const last = entries.at(-1)!;
  const runMechanisms = entries.filter((e) => e.entry.runId === runId).flatMap((e) => e.entry.mechanisms);
  const byKind = new Map(run.byMechanism.map((m) => [m.mechanism, m]));
  return {
    hospitalId,
    unit: 'patient',
    delta: settings.delta,
    run: split(run),
    lifetime: split(lifetime),
    budgetEpsilon: settings.budgetEpsilon,
    mechanisms: [...byKind.values()].map((m) => ({
      mechanism: m.mechanism,
      partitions: m.partitions,
      epsilon: finite(m.epsilon),
      noiseMultiplier: runMechanisms.find((r) => r.mechanism === m.mechanism)?.noiseMultiplier ?? 0,
    })),
    ledgerSequence: last.entry.sequence,
    ledgerSha256: entrySha256(last.entry),
  };
}

/**
 * The patient-level guarantee a model version states: the least protected participating hospital's
 * run total (∞ if any trained without DP-SGD), with that hospital's DP-SGD settings and lifetime ε.
 */
export function worstPatientGuarantee(
  hospitals: readonly HospitalPrivacy[],
  dpSgd: (hospitalId: string) => LedgerMechanism | undefined,
  exampleClipNorm: number,
): PrivacyGuarantee | null {
  if (hospitals.length === 0) return null;
  const worst = hospitals.reduce((a, b) =>
    (b.run.epsilon ?? Infinity) > (a.run.epsilon ?? Infinity) ? b : a,
  );
  const sgd = dpSgd(worst.hospitalId);
  return {
    unit: 'patient',
    epsilon: worst.run.epsilon,
    delta: worst.delta,
    order: null,
    noiseMultiplier: sgd?.noiseMultiplier ?? 0,
    clipNorm: exampleClipNorm,
    samplingProbability: sgd?.samplingProbability ?? 0,
    steps: (sgd?.stepsPerUse ?? 0) * (sgd?.uses ?? 0),
    accountant: 'rdp-sampled-gaussian+balle2020',
    budgetEpsilon: worst.budgetEpsilon,
    hospitalId: worst.hospitalId,
    lifetimeEpsilon: worst.lifetime.epsilon,
    mechanisms: worst.mechanisms.map((m) => ({ mechanism: m.mechanism, epsilon: m.epsilon })),
  };
}

function split(totals: LedgerTotals): HospitalPrivacy['run'] {
  return {
    epsilon: finite(totals.epsilon),
    train: finite(totals.partitions.train.epsilon),
    test: finite(totals.partitions.test.epsilon),
  };
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
