import type { TrainingConfig } from '../../schemas/training-config';
import { totalsWith, type RunPrivacyPlan } from '../core/privacy';
import type { HospitalLedgerStore } from '../ports/hospital-ledger-store';
import { views } from '../services/hospital-ledger';
import { planForHospital } from '../services/patient-privacy';

/**
 * Before a local run starts: would any hospital refuse it for its lifetime budget? The hospital
 * jobs enforce this themselves (before reading a record); on a laptop the CLI can read the same
 * ledgers first and say so in one line, with the largest per-run target that still fits, instead
 * of starting a run that its first job will refuse.
 */
export interface BudgetRefusal {
  hospitalId: string;
  spent: number;
  after: number;
  /** The largest patientTargetEpsilon that fits what is left (null: nothing fits). */
  fittingTarget: number | null;
  /** Runs on its ledger that trained without DP-SGD (ε = ∞ for its patients, for good). */
  unprotectedRuns: string[];
}

export async function budgetRefusals(
  config: TrainingConfig,
  hospitals: readonly string[],
  declaredTrainStays: Record<string, number>,
  ledger: HospitalLedgerStore,
): Promise<BudgetRefusal[]> {
  if (config.patientPrivacy === 'none') return []; // an explicit waiver: recorded, not refused
  const refusals: BudgetRefusal[] = [];
  for (const hospitalId of hospitals) {
    const entries = views(await ledger.read(hospitalId));
    const costOf = (plan: RunPrivacyPlan) => totalsWith(entries, plan.mechanisms, config.delta).epsilon;
    const after = costOf(planForHospital(config, declaredTrainStays[hospitalId], hospitalId));
    if (after <= config.patientBudgetEpsilon) continue;
    refusals.push({
      hospitalId,
      spent: totalsWith(entries, [], config.delta).epsilon,
      after,
      fittingTarget: largestFittingTarget(config, hospitalId, declaredTrainStays[hospitalId], costOf),
      unprotectedRuns: [
        ...new Set(
          entries
            .filter((e) => e.mechanisms.some((m) => m.mechanism === 'unprotected-training'))
            .map((e) => e.runId),
        ),
      ],
    });
  }
  return refusals;
}

/** Bisection on the run's target: the plan's cost grows with it. Two significant digits are plenty. */
function largestFittingTarget(
  config: TrainingConfig,
  hospitalId: string,
  declared: number | undefined,
  costOf: (plan: RunPrivacyPlan) => number,
): number | null {
  const fits = (target: number) => {
    try {
      return (
        costOf(planForHospital({ ...config, patientTargetEpsilon: target }, declared, hospitalId)) <=
        config.patientBudgetEpsilon
      );
    } catch {
      return false;
    }
  };
  let lo = 0.01;
  if (!fits(lo)) return null;
  let hi = config.patientTargetEpsilon;
  while (hi - lo > 0.01 * hi) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return Math.floor(lo * 100) / 100;
}

export function describeRefusal(r: BudgetRefusal, config: TrainingConfig, ledgerPlace: string): string {
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '∞');
  const what =
    r.unprotectedRuns.length > 0
      ? `its ledger records run${r.unprotectedRuns.length === 1 ? '' : 's'} ${r.unprotectedRuns.join(', ')} trained without patient-level DP (--patient-privacy none), so no run on its patients can claim a finite lifetime guarantee again: train it with --patient-privacy none, train other hospitals, or (a simulation) use a fresh store with --home DIR`
      : r.fittingTarget === null
        ? `its budget is spent: train on other hospitals, or raise --patient-budget-epsilon if your privacy policy allows it`
        : `run with --patient-target-epsilon ${r.fittingTarget} (or less), or raise --patient-budget-epsilon if your privacy policy allows it`;
  return `hospital ${r.hospitalId} would refuse this run: its patients' lifetime budget ε = ${config.patientBudgetEpsilon} (δ = ${config.delta}) has ${fmt(r.spent)} spent and this run would bring it to ${fmt(r.after)} (ledger ${ledgerPlace}, \`himas privacy ledger --hospital ${r.hospitalId}\`); nothing was started and no record was read. To go on: ${what}`;
}
