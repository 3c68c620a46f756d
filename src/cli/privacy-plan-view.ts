import type { TrainingConfig } from '../../schemas/training-config';
import type { PlannedMechanism, RunPrivacyPlan } from '../core/privacy';
import { planForHospital } from '../services/patient-privacy';
import { describeGuarantee, hospitalLevelGuarantee, roundPrivacyEvent } from '../services/privacy-guarantee';
import { roundsWithinBudget } from './train-plan';
import { UserError } from './user-error';

/**
 * How a run's per-hospital privacy plan reads for people: each mechanism with its noise and its ε
 * alone, and the partition totals (the hospital's guarantee is the worse of the two).
 */
const eps = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '∞');
const short = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : '∞');

export function describeMechanism(m: PlannedMechanism): string {
  switch (m.mechanism) {
    case 'dp-sgd':
      return `DP-SGD z = ${short(m.noiseMultiplier)}, q = ${short(m.samplingProbability ?? 0)}, ${(m.stepsPerUse ?? 0) * m.uses} steps`;
    case 'unprotected-training':
      return 'training without DP-SGD (no guarantee)';
    case 'evaluation':
      return `${m.uses} noisy evaluation(s), noise SD ${short(m.noiseMultiplier * m.l2Sensitivity)} per count`;
    case 'surveillance':
      return `weekly surveillance counts, noise SD ${short(m.noiseMultiplier * m.l2Sensitivity)}`;
    case 'treatment':
      return `treatment tables, noise SD ${short(m.noiseMultiplier * m.l2Sensitivity)}`;
  }
}

/** One line: the run total and each mechanism's share. */
export function describePlan(plan: RunPrivacyPlan): string {
  const parts = plan.mechanisms.map((m) => `${describeMechanism(m)} → ε ${eps(m.epsilonAlone)} alone`);
  return `patient-level ε = ${eps(plan.epsilon)} this run at δ = ${plan.delta} (train split ${eps(plan.partitions.train.epsilon)}, test split ${eps(plan.partitions.test.epsilon)}; target ${plan.targetEpsilon}): ${parts.join('; ')}`;
}

/** The plan as a table, one row per mechanism. */
export function planTable(plan: RunPrivacyPlan): string[] {
  const rows = [`    ${'mechanism'.padEnd(22)} ${'split'.padEnd(11)} ${'ε alone'.padStart(8)}  what`];
  for (const m of plan.mechanisms)
    rows.push(
      `    ${m.mechanism.padEnd(22)} ${m.partitions.join('+').padEnd(11)} ${eps(m.epsilonAlone).padStart(8)}  ${describeMechanism(m)}`,
    );
  rows.push(
    `    ${'total (RDP-composed)'.padEnd(22)} ${'train'.padEnd(11)} ${eps(plan.partitions.train.epsilon).padStart(8)}`,
    `    ${''.padEnd(22)} ${'test'.padEnd(11)} ${eps(plan.partitions.test.epsilon).padStart(8)}`,
    `    ${'guarantee (worse split)'.padEnd(22)} ${''.padEnd(11)} ${eps(plan.epsilon).padStart(8)}  δ = ${plan.delta}`,
  );
  return rows;
}

/** The privacy plan, per unit, before training: what the run will state when it ends. */
export function privacyPlanLines(
  config: TrainingConfig,
  hospitalIds: string[],
  declaredTrainStays: Record<string, number>,
): string[] {
  const hospitals = hospitalIds.length;
  const planned = hospitalLevelGuarantee(
    config,
    Array.from({ length: config.rounds }, () => roundPrivacyEvent(config, hospitals, hospitals)),
    1,
  );
  const lines = [`privacy plan: ${describeGuarantee(planned)}`];
  const affordable = roundsWithinBudget(config, hospitals);
  if (affordable < config.rounds)
    lines.push(
      `privacy plan: the hospital-level budget ε = ${config.epsilonBudget} pays for ${affordable} of the ${config.rounds} rounds; the run will stop after round ${affordable}`,
    );
  if (config.patientPrivacy === 'none')
    lines.push(
      "privacy plan: no patient-level DP-SGD (patientPrivacy none): ε = ∞ for every hospital's patients, recorded in each hospital's ledger; no later run on them can claim a finite guarantee",
    );
  for (const hospitalId of hospitalIds) {
    try {
      const plan = planForHospital(config, declaredTrainStays[hospitalId], hospitalId);
      lines.push(
        `privacy plan: ${hospitalId}: ${describePlan(plan)}; lifetime budget ε = ${config.patientBudgetEpsilon}`,
      );
    } catch (error) {
      throw new UserError(`privacy plan for ${hospitalId}: ${(error as Error).message}`);
    }
  }
  return lines;
}
