export type {
  AggregationContext,
  AggregationReport,
  AggregationResult,
  AggregationStrategy,
  ClientUpdate,
  JsonValue,
  StrategyState,
} from './strategy';
export { validateUpdates } from './strategy';
export { l2Norm } from './l2-norm';
export { clipToNorm } from './clipping';
export type { Weighting } from './weighted-mean';
export { fedAvg } from './fedavg';
export type { FedAvgOptions } from './fedavg';
export { fedAdam } from './fedadam';
export type { FedAdamOptions } from './fedadam';
export { dpFedAvg, DP_AGGREGATE_ID } from './dp-fedavg';
export type { ClippedSum, DpFedAvgStrategy } from './dp-fedavg';
export type { DpFedAvgOptions } from './dp-fedavg';
