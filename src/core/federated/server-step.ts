import type {
  AggregationContext,
  AggregationResult,
  AggregationStrategy,
  StrategyState,
  ValidatedRound,
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
