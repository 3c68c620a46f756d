import {
  validateRound,
  type AggregationContext,
  type AggregationReport,
  type AggregationResult,
  type AggregationStrategy,
  type StrategyState,
  type ValidatedRound,
} from './strategy';

/**
 * A strategy's server step on a round that was already validated (sorted, finite, norms known).
 * Wrappers that validate the public input themselves (dpFedAvg) call it to hand their single
 * derived update to the inner strategy without a second validation pass over it.
 */
export type ServerStep = (
  global: Float32Array,
  round: ValidatedRound,
  state: StrategyState | undefined,
  context: AggregationContext,
) => AggregationResult;

// Keyed by the strategy object, so only strategies built by this module's factories have a step.
const steps = new WeakMap<AggregationStrategy, ServerStep>();

/** Registers `step` as the validated-input path of `strategy`; returns the strategy. */
export function withServerStep(strategy: AggregationStrategy, step: ServerStep): AggregationStrategy {
  steps.set(strategy, step);
  return strategy;
}

/** The registered server step of `strategy`, or undefined for strategies defined elsewhere. */
export function serverStepOf(strategy: AggregationStrategy): ServerStep | undefined {
  return steps.get(strategy);
}

/**
 * A server-optimizer strategy from its step: the public `aggregate` validates the round first,
 * and the step is registered so a DP wrapper can hand it an already validated noisy average.
 */
export function serverStrategy(name: string, step: ServerStep): AggregationStrategy {
  return withServerStep(
    {
      name,
      aggregate: (global, updates, state, context) =>
        step(global, validateRound(global, updates), state, context),
    },
    step,
  );
}

/** The report of a server step without clipping or noise (FedAvg, FedAdam). */
export function plainReport(name: string, { sorted, norms }: ValidatedRound): AggregationReport {
  return {
    strategy: name,
    participants: sorted.map((u) => u.hospitalId),
    clippedHospitals: [],
    updateNorms: Object.fromEntries(sorted.map((u, k) => [u.hospitalId, norms[k]])),
    noiseStd: 0,
    privacyEvent: null,
  };
}
