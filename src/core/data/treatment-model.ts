import type { SeededRandom } from '../random/seeded-random';
import { LATENT_FEATURES } from './feature-model';
import { sigmoid } from './sampling';
import type { LatentStay } from './stay-model';

/**
 * Day-1 vasopressors with a known effect on mortality, added without changing any existing label.
 *
 * Causal model (per stay, s = latent severity, ℓ0 = the existing outcome logit):
 *   T ~ Bernoulli(π),  π = σ(γ0 + γ_s·s + γ_p·(−z_mbp))          confounding by indication:
 *                                                                 hypotension (z_mbp loads −0.33
 *                                                                 on s) gets vasopressors, so
 *                                                                 sicker stays are treated more
 *   Y | T ~ Bernoulli(σ(α + β·T))                                 β = treatmentLogOddsRatio
 * with α chosen per stay so that P(Y = 1) = π σ(α + β) + (1 − π) σ(α) = σ(ℓ0): the marginal risk
 * is the one the generator always had. The label was already drawn from σ(ℓ0), so T is drawn from
 * its posterior given Y (Bayes' rule):
 *   P(T = 1 | Y = 1) = π σ(α + β) / σ(ℓ0),   P(T = 1 | Y = 0) = π (1 − σ(α + β)) / (1 − σ(ℓ0)).
 * The joint law of (s, features, T, Y) is then exactly that of the causal model, and every existing
 * feature and label for a seed is unchanged. β is a conditional log-OR given the stay's latent
 * state (all of ℓ0's inputs). With γ_s = 0 the only confounder path runs through mbp_mean, which
 * is observed, so adjustment can recover β; with γ_s > 0 it cannot (see VASOPRESSOR_MODEL).
 */
export const VASOPRESSOR_MODEL = {
  /** Gives ~19 % treated overall (MIMIC-IV: about a fifth of ICU stays get a vasopressor on day 1). */
  intercept: -1.7,
  /**
   * per unit of latent severity s beyond what hypotension shows. 0: clinicians treat what they see,
   * so adjusting for observed features can recover β. Measured with 0.3 instead: score-decile
   * Mantel–Haenszel gives log-OR −0.15 for a true −0.30 (unmeasured confounding), with 0: −0.30.
   */
  severity: 0,
  /** per unit of −z of mbp_mean (the observed hypotension that is the indication) */
  hypotension: 1.0,
} as const;

export const DEFAULT_TREATMENT_LOG_ODDS_RATIO = -0.3;

const MBP_INDEX = LATENT_FEATURES.findIndex((f) => f.name === 'mbp_mean');

/** π: probability that a stay gets day-1 vasopressors. */
export function vasopressorPropensity(stay: LatentStay): number {
  const m = VASOPRESSOR_MODEL;
  return sigmoid(m.intercept + m.severity * stay.severity - m.hypotension * stay.z[MBP_INDEX]);
}

/** α with π σ(α + β) + (1 − π) σ(α) = p0, by bisection (the left side increases in α). */
export function untreatedLogit(p0: number, propensity: number, logOddsRatio: number): number {
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    const p = propensity * sigmoid(mid + logOddsRatio) + (1 - propensity) * sigmoid(mid);
    if (p < p0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Draws T given the already drawn label (see the model above). */
export function drawTreatmentGivenOutcome(
  random: SeededRandom,
  propensity: number,
  risk: number,
  label: 0 | 1,
  logOddsRatio: number,
): 0 | 1 {
  const alpha = untreatedLogit(risk, propensity, logOddsRatio);
  const treatedRisk = sigmoid(alpha + logOddsRatio);
  const p = label === 1 ? (propensity * treatedRisk) / risk : (propensity * (1 - treatedRisk)) / (1 - risk);
  return random.nextDouble() < p ? 1 : 0;
}
