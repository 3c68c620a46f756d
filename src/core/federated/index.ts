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
export { fedAdam, fedYogi, fedAdagrad } from './adaptive-server';
export type { AdaptiveServerOptions, AdaptiveServerOptions as FedAdamOptions } from './adaptive-server';
export { fedAvgM } from './fedavgm';
export type { FedAvgMOptions } from './fedavgm';
export { coordinateMedian, trimmedMean } from './robust-aggregation';
export type { RobustAggregationOptions, TrimmedMeanOptions } from './robust-aggregation';
export { dpFedAvg, DP_AGGREGATE_ID } from './dp-fedavg';
export type { ClippedSum, DpFedAvgStrategy } from './dp-fedavg';
export type { DpFedAvgOptions } from './dp-fedavg';
