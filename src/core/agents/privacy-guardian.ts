import type { AuditRecord } from '../../../schemas/documents';
import type { DpEventData, PrivacyGuarantee } from '../../../schemas/privacy';
import type { TrainingConfig } from '../../../schemas/training-config';
import { computeEpsilon, type DpEvent } from '../privacy';

/**
 * The privacy guardian's check of one published model version (issue 7, agent 1).
 *
 * ε is recomputed from the ledger with the accountant (RDP of the sampled Gaussian, Mironov,
 * Talwar, Zhang 2019; Balle et al. 2020 conversion), never read from the aggregator's claim, then:
 *   - claim check, hospital level: |ε_claimed − ε_recomputed| ≤ 1e-6 · max(1, ε_recomputed) (∞
 *     only matches ∞), and the claim's δ, clip norm, noise multiplier, budget and steps match;
 *   - claim check, patient level: the claim (the least protected hospital's run total) must not
 *     be below what the participants' published, signed ledgers recompute to; an unverifiable
 *     ledger is critical;
 *   - policy check: every ledger event is the mechanism the run's policy allows (noise multiplier
 *     no lower than configured), the round met its quorum and only expected hospitals took part;
 *   - budget: spent fraction ε / budget ≥ 0.8 → warning, ≥ 1 (or ε = ∞ with a budget) → halt.
 * Level: critical (a claim mismatch or a policy violation) > halt > warning > ok.
 */

export type GuardianLevel = 'ok' | 'warning' | 'halt' | 'critical';

/** Relative tolerance between the claimed and the recomputed ε. */
export const EPSILON_RELATIVE_TOLERANCE = 1e-6;
export const WARNING_BUDGET_FRACTION = 0.8;
export const GUARDIAN_ACTOR = 'agent:privacy-guardian';

/** The round as the aggregator recorded it (a subset of RoundDocument). */
export interface GuardedRound {
  round: number;
  expectedHospitals: readonly string[];
  quorum: number;
  participants: readonly string[];
}

export interface PrivacyGuardianInput {
  runId: string;
  config: TrainingConfig;
  /** Enrolled hospitals of the run. */
  hospitals: readonly string[];
  /**
   * The hospital-level ledger of RunDocument, and the patient-level figures recomputed from the
   * participants' published ledgers (the caller verifies chains and signatures).
   */
  ledgers: { hospital: readonly DpEventData[]; patient?: PatientRecomputation };
  /** The model.published event's guarantees. */
  claimed: readonly PrivacyGuarantee[];
  modelVersionId: string;
  round: GuardedRound;
}

export interface PatientRecomputation {
  /** The least protected participant's run total (null = ∞). */
  epsilon: number | null;
  /** That hospital's lifetime total (null = ∞). */
  lifetimeEpsilon: number | null;
  budgetEpsilon: number;
  /** The run trains without DP-SGD: ε = ∞ by the operator's choice, not a budget overrun. */
  waived: boolean;
  /** Ledgers that could not be verified (reason each): the claim then cannot be checked. */
  unverifiable: string[];
}

export interface UnitCheck {
  unit: 'hospital' | 'patient';
  /** null = ∞ (no guarantee). */
  claimedEpsilon: number | null;
  recomputedEpsilon: number | null;
  order: number | null;
  delta: number;
  budgetEpsilon: number | null;
  /** ε / budget; null without a budget; Infinity when ε = ∞ under a budget. */
  budgetFraction: number | null;
}

export interface Finding {
  level: Exclude<GuardianLevel, 'ok'>;
  code:
    | 'epsilon-mismatch'
    | 'claim-parameter-mismatch'
    | 'ledger-unverifiable'
    | 'policy-violation'
    | 'quorum-violation'
    | 'budget-warning'
    | 'budget-exhausted';
  message: string;
}

export interface PrivacyGuardianDecision {
  level: GuardianLevel;
  units: UnitCheck[];
  findings: Finding[];
  /** One line for people: the decision and why. */
  message: string;
  /** The audit row to write (the adapter adds id and time). */
  audit: Omit<AuditRecord, 'id' | 'time'>;
  /** The `privacy.alert` data to publish, or null when level is ok. */
  alert: {
    level: Exclude<GuardianLevel, 'ok'>;
    unit: 'hospital' | 'patient';
    epsilon: number | null;
    budgetEpsilon: number | null;
    message: string;
  } | null;
  /** Set the run's halt flag with this reason (halt and critical), or null. */
  haltReason: string | null;
}

const LEVEL_RANK: Record<GuardianLevel, number> = { ok: 0, warning: 1, halt: 2, critical: 3 };

/** ε of a ledger (composition of its events); 0 for an empty ledger, null for ∞. */
export function ledgerEpsilon(
  ledger: readonly DpEventData[],
  delta: number,
): { epsilon: number | null; order: number | null } {
  if (ledger.length === 0) return { epsilon: 0, order: null };
  const { epsilon, order } = computeEpsilon({ kind: 'composed', events: ledger as DpEvent[] }, delta);
  return Number.isFinite(epsilon) ? { epsilon, order } : { epsilon: null, order: null };
}

export function epsilonsMatch(claimed: number | null, recomputed: number | null): boolean {
  if (claimed === null || recomputed === null) return claimed === recomputed;
  return Math.abs(claimed - recomputed) <= EPSILON_RELATIVE_TOLERANCE * Math.max(1, Math.abs(recomputed));
}

const fmt = (epsilon: number | null): string => (epsilon === null ? '∞' : epsilon.toFixed(4));

export function checkPrivacy(input: PrivacyGuardianInput): PrivacyGuardianDecision {
  const { config } = input;
  const findings: Finding[] = [];
  const units: UnitCheck[] = [];
  const configuredNoise = config.aggregation === 'dp-fedavg' ? config.noiseMultiplier : 0;

  if (!input.claimed.some((g) => g.unit === 'hospital')) {
    findings.push({
      level: 'critical',
      code: 'claim-parameter-mismatch',
      message: 'the published model states no hospital-level guarantee',
    });
  }

  for (const claim of input.claimed) {
    if (claim.unit === 'patient') {
      checkPatientClaim(claim, input.ledgers.patient, units, findings);
      continue;
    }
    const ledger = input.ledgers.hospital;
    if (ledger === undefined) {
      findings.push({
        level: 'critical',
        code: 'ledger-unverifiable',
        message: `a ${claim.unit}-level guarantee is claimed but no ${claim.unit}-level ledger is kept to verify it`,
      });
      continue;
    }
    const { epsilon, order } = ledgerEpsilon(ledger, claim.delta);
    const budgetEpsilon = claim.unit === 'hospital' ? config.epsilonBudget : claim.budgetEpsilon;
    const budgetFraction =
      budgetEpsilon === null ? null : epsilon === null ? Infinity : epsilon / budgetEpsilon;
    units.push({
      unit: claim.unit,
      claimedEpsilon: claim.epsilon,
      recomputedEpsilon: epsilon,
      order,
      delta: claim.delta,
      budgetEpsilon,
      budgetFraction,
    });

    if (!epsilonsMatch(claim.epsilon, epsilon)) {
      findings.push({
        level: 'critical',
        code: 'epsilon-mismatch',
        message: `${claim.unit}-level ε claimed ${fmt(claim.epsilon)} but the ledger gives ${fmt(epsilon)}`,
      });
    }
    if (claim.unit === 'hospital') checkHospitalClaim(input, claim, configuredNoise, findings);

    if (budgetFraction !== null && budgetFraction >= 1) {
      findings.push({
        level: 'halt',
        code: 'budget-exhausted',
        message: `${claim.unit}-level ε = ${fmt(epsilon)} has reached the budget ${budgetEpsilon}`,
      });
    } else if (budgetFraction !== null && budgetFraction >= WARNING_BUDGET_FRACTION) {
      findings.push({
        level: 'warning',
        code: 'budget-warning',
        message: `${claim.unit}-level ε = ${fmt(epsilon)} is ${(budgetFraction * 100).toFixed(1)} % of the budget ${budgetEpsilon}`,
      });
    }
  }
  checkLedgerPolicy(input.ledgers.hospital, configuredNoise, input.round.round, findings);
  checkRound(input, findings);

  const level = findings.reduce<GuardianLevel>(
    (worst, f) => (LEVEL_RANK[f.level] > LEVEL_RANK[worst] ? f.level : worst),
    'ok',
  );
  const headline = units
    .map(
      (u) =>
        `${u.unit}-level ε = ${fmt(u.recomputedEpsilon)} (δ = ${u.delta})${u.budgetEpsilon === null ? '' : ` of budget ${u.budgetEpsilon}`}`,
    )
    .join('; ');
  const worst = findings.filter((f) => f.level === level).map((f) => f.message);
  const message =
    level === 'ok'
      ? `privacy ok at ${input.modelVersionId}: ${headline}, claim verified`
      : `privacy ${level} at ${input.modelVersionId}: ${worst.join('; ')} [${headline}]`;
  const alertUnit = units.find((u) => u.unit === 'hospital') ?? units[0];
  return {
    level,
    units,
    findings,
    message,
    audit: {
      runId: input.runId,
      round: input.round.round,
      actor: GUARDIAN_ACTOR,
      action: 'privacy.check',
      outcome: level === 'ok' || level === 'warning' ? 'accepted' : 'rejected',
      reason: message,
      subject: input.modelVersionId,
    },
    alert:
      level === 'ok'
        ? null
        : {
            level,
            unit: alertUnit?.unit ?? 'hospital',
            epsilon: alertUnit?.recomputedEpsilon ?? null,
            budgetEpsilon: alertUnit?.budgetEpsilon ?? null,
            message,
          },
    haltReason: level === 'halt' || level === 'critical' ? message : null,
  };
}

/** The patient-level claim against the recomputation from the participants' ledgers. */
function checkPatientClaim(
  claim: PrivacyGuarantee,
  patient: PatientRecomputation | undefined,
  units: UnitCheck[],
  findings: Finding[],
): void {
  if (patient === undefined || patient.unverifiable.length > 0) {
    findings.push({
      level: 'critical',
      code: 'ledger-unverifiable',
      message: `a patient-level guarantee is claimed but ${patient ? patient.unverifiable.join('; ') : 'no participant ledger could be read'}`,
    });
    return;
  }
  const budgetFraction = patient.waived
    ? null
    : patient.lifetimeEpsilon === null
      ? Infinity
      : patient.lifetimeEpsilon / patient.budgetEpsilon;
  units.push({
    unit: 'patient',
    claimedEpsilon: claim.epsilon,
    recomputedEpsilon: patient.epsilon,
    order: null,
    delta: claim.delta,
    budgetEpsilon: patient.budgetEpsilon,
    budgetFraction,
  });
  const below =
    patient.epsilon === null
      ? claim.epsilon !== null
      : claim.epsilon !== null &&
        claim.epsilon < patient.epsilon - EPSILON_RELATIVE_TOLERANCE * Math.max(1, patient.epsilon);
  if (below)
    findings.push({
      level: 'critical',
      code: 'epsilon-mismatch',
      message: `patient-level ε claimed ${fmt(claim.epsilon)} is below what the hospitals' ledgers give, ${fmt(patient.epsilon)}`,
    });
  if (budgetFraction !== null && budgetFraction >= 1)
    findings.push({
      level: 'halt',
      code: 'budget-exhausted',
      message: `patient-level lifetime ε = ${fmt(patient.lifetimeEpsilon)} of ${claim.hospitalId ?? 'a hospital'} has reached its budget ${patient.budgetEpsilon}`,
    });
  else if (budgetFraction !== null && budgetFraction >= WARNING_BUDGET_FRACTION)
    findings.push({
      level: 'warning',
      code: 'budget-warning',
      message: `patient-level lifetime ε = ${fmt(patient.lifetimeEpsilon)} is ${(budgetFraction * 100).toFixed(1)} % of the budget ${patient.budgetEpsilon}`,
    });
}

function checkHospitalClaim(
  input: PrivacyGuardianInput,
  claim: PrivacyGuarantee,
  configuredNoise: number,
  findings: Finding[],
): void {
  const { config } = input;
  const mismatches: string[] = [];
  const expect = (name: string, claimed: unknown, policy: unknown): void => {
    if (claimed !== policy) mismatches.push(`${name} ${String(claimed)} ≠ policy ${String(policy)}`);
  };
  expect('δ', claim.delta, config.delta);
  expect('clip norm', claim.clipNorm, config.clipNorm);
  expect('noise multiplier', claim.noiseMultiplier, configuredNoise);
  expect('budget', claim.budgetEpsilon, config.epsilonBudget);
  expect('steps', claim.steps, input.ledgers.hospital.length);
  if (mismatches.length > 0) {
    findings.push({
      level: 'critical',
      code: 'claim-parameter-mismatch',
      message: `hospital-level claim disagrees with the run: ${mismatches.join(', ')}`,
    });
  }
}

/**
 * Every hospital-level ledger entry must be PoissonSampled(q ≤ 1, Gaussian(z ≥ configured z)),
 * the event DP-FedAvg records (src/core/federated/dp-fedavg.ts); and a round is charged at most once.
 */
function checkLedgerPolicy(
  ledger: readonly DpEventData[],
  configuredNoise: number,
  round: number,
  findings: Finding[],
): void {
  ledger.forEach((event, i) => {
    const ok =
      event.kind === 'poisson-sampled' &&
      event.event.kind === 'gaussian' &&
      event.event.noiseMultiplier >= configuredNoise;
    if (!ok) {
      findings.push({
        level: 'critical',
        code: 'policy-violation',
        message: `ledger entry ${i + 1} is ${describeEvent(event)}, policy is poisson-sampled gaussian with z ≥ ${configuredNoise}`,
      });
    }
  });
  if (ledger.length > round) {
    findings.push({
      level: 'critical',
      code: 'policy-violation',
      message: `the ledger has ${ledger.length} entries after ${round} round(s): a round was charged twice or a mechanism ran outside a round`,
    });
  }
}

function checkRound(input: PrivacyGuardianInput, findings: Finding[]): void {
  const { round, config, hospitals } = input;
  const requiredQuorum = config.quorum ?? hospitals.length;
  const problems: string[] = [];
  if (round.quorum < requiredQuorum) problems.push(`round quorum ${round.quorum} < policy ${requiredQuorum}`);
  if (round.participants.length < round.quorum)
    problems.push(`${round.participants.length} participant(s) < quorum ${round.quorum}`);
  const expected = new Set(round.expectedHospitals);
  const enrolled = new Set(hospitals);
  const strangers = round.participants.filter((h) => !expected.has(h));
  if (strangers.length > 0) problems.push(`unexpected participant(s) ${strangers.join(', ')}`);
  const unenrolled = round.expectedHospitals.filter((h) => !enrolled.has(h));
  if (unenrolled.length > 0) problems.push(`expected hospital(s) not enrolled: ${unenrolled.join(', ')}`);
  if (problems.length > 0) {
    findings.push({ level: 'critical', code: 'quorum-violation', message: problems.join('; ') });
  }
}

function describeEvent(event: DpEventData): string {
  switch (event.kind) {
    case 'gaussian':
      return `gaussian(z = ${event.noiseMultiplier})`;
    case 'poisson-sampled':
      return `poisson-sampled(q = ${event.samplingProbability}, ${describeEvent(event.event)})`;
    case 'self-composed':
      return `self-composed(${describeEvent(event.event)} × ${event.count})`;
    case 'composed':
      return `composed(${event.events.map(describeEvent).join(', ')})`;
    case 'no-op':
      return 'no-op';
  }
}
