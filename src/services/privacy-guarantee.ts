import type { TrainingConfig } from '../../schemas/training-config';
import type { DpEventData, PrivacyGuarantee } from '../../schemas/privacy';
import { computeEpsilon, type DpEvent } from '../core/privacy';

/**
 * The hospital-level mechanism one DP-FedAvg round applies: every expected hospital's clipped
 * update enters a sum with Gaussian noise of std z·C, so one round is a Gaussian mechanism with
 * noise multiplier z, sampled with probability q = expected / enrolled hospitals.
 * With no noise there is no guarantee (ε = ∞) and the round is recorded as such.
 */
export function roundPrivacyEvent(config: TrainingConfig, expected: number, enrolled: number): DpEventData {
  return {
    kind: 'poisson-sampled',
    samplingProbability: Math.min(1, expected / enrolled),
    event: {
      kind: 'gaussian',
      noiseMultiplier: config.aggregation === 'dp-fedavg' ? config.noiseMultiplier : 0,
    },
  };
}

/** ε is always recomputed from the whole ledger, never incremented by hand (STYLE.md habit 3). */
export function hospitalLevelGuarantee(
  config: TrainingConfig,
  ledger: DpEventData[],
  samplingProbability: number,
): PrivacyGuarantee {
  const noiseMultiplier = config.aggregation === 'dp-fedavg' ? config.noiseMultiplier : 0;
  const { epsilon, order } =
    ledger.length === 0
      ? { epsilon: 0, order: null }
      : computeEpsilon({ kind: 'composed', events: ledger as DpEvent[] }, config.delta);
  return {
    unit: 'hospital',
    epsilon: Number.isFinite(epsilon) ? epsilon : null,
    delta: config.delta,
    order: Number.isFinite(epsilon) ? order : null,
    noiseMultiplier,
    clipNorm: config.clipNorm,
    samplingProbability,
    steps: ledger.length,
    accountant: 'rdp-sampled-gaussian+balle2020',
    budgetEpsilon: config.epsilonBudget,
  };
}

/** One line a person can read: unit, ε, δ; ∞ said plainly when there is no noise. */
export function describeGuarantee(g: PrivacyGuarantee): string {
  const eps = g.epsilon === null ? '∞ (no noise: no differential-privacy guarantee)' : g.epsilon.toFixed(3);
  const budget = g.budgetEpsilon === null ? '' : ` of a budget of ${g.budgetEpsilon}`;
  if (g.unit === 'patient') {
    const who = g.hospitalId
      ? ` (${g.hospitalId}, the least protected hospital)`
      : ' (the least protected hospital)';
    const lifetime =
      g.lifetimeEpsilon == null ? '' : `; its lifetime ε = ${g.lifetimeEpsilon.toFixed(3)}${budget}`;
    const parts = g.mechanisms?.length
      ? ` over ${g.mechanisms.map((m) => `${m.mechanism} ${m.epsilon === null ? '∞' : m.epsilon.toFixed(2)}`).join(', ')}`
      : '';
    return `patient-level ε = ${eps} for this run, every release included${who}, δ = ${g.delta}${parts}${lifetime}`;
  }
  return `${g.unit}-level ε = ${eps}${budget}, δ = ${g.delta} after ${g.steps} round(s) (z = ${round(g.noiseMultiplier)}, C = ${g.clipNorm}, q = ${round(g.samplingProbability)})`;
}

const round = (value: number): string => String(Number(value.toPrecision(4)));
