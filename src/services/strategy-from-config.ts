import { blobPaths } from '../../schemas/documents';
import type { TrainingConfig } from '../../schemas/training-config';
import {
  coordinateMedian,
  dpFedAvg,
  fedAdagrad,
  fedAdam,
  fedAvg,
  fedAvgM,
  fedYogi,
  trimmedMean,
  type AggregationStrategy,
  type DpFedAvgStrategy,
  type StrategyState,
} from '../core/federated';
import type { BlobStore } from '../ports/blob-store';

/** The aggregation strategy a run's configuration asks for (strategies wrap strategies, STYLE habit 4). */
export function buildStrategy(config: TrainingConfig): AggregationStrategy {
  if (config.aggregation === 'median')
    return coordinateMedian({ serverLearningRate: config.serverLearningRate });
  if (config.aggregation === 'trimmed-mean')
    return trimmedMean({ serverLearningRate: config.serverLearningRate, trimFraction: config.trimFraction });
  if (config.aggregation === 'fedavg') return serverOptimizer(config);
  return buildDpFedAvg(config);
}

/** DP-FedAvg around the configured server optimizer; the masked path calls its aggregateClippedSum. */
export function buildDpFedAvg(config: TrainingConfig): DpFedAvgStrategy {
  return dpFedAvg(serverOptimizer(config), {
    clipNorm: config.clipNorm,
    noiseMultiplier: config.noiseMultiplier,
  });
}

function serverOptimizer(config: TrainingConfig): AggregationStrategy {
  const serverLearningRate = config.serverLearningRate;
  // DP-FedAvg averages uniformly (its fixed denominator); FedAvg weighs by declared examples.
  const weighting = config.aggregation === 'dp-fedavg' ? 'uniform' : 'examples';
  switch (config.serverOptimizer) {
    case 'adam':
      return fedAdam({ serverLearningRate });
    case 'yogi':
      return fedYogi({ serverLearningRate });
    case 'adagrad':
      return fedAdagrad({ serverLearningRate });
    case 'momentum':
      return fedAvgM({ serverLearningRate, momentum: config.serverMomentum, weighting });
    case 'sgd':
      return fedAvg({ serverLearningRate, weighting });
  }
}

/** Server-optimizer state (FedAdam moments) lives in a blob per round: too big for a document. */
export async function loadStrategyState(
  blobs: BlobStore,
  runId: string,
  round: number,
): Promise<StrategyState | undefined> {
  if (round < 1) return undefined;
  const info = await blobs.stat(blobPaths.strategyState(runId, round));
  if (!info) return undefined;
  return JSON.parse(Buffer.from(await blobs.get(info.path)).toString('utf8')) as StrategyState;
}

export async function saveStrategyState(
  blobs: BlobStore,
  runId: string,
  round: number,
  state: StrategyState | undefined,
): Promise<void> {
  if (state === undefined || state === null || (typeof state === 'object' && Object.keys(state).length === 0))
    return;
  await blobs.put(blobPaths.strategyState(runId, round), Buffer.from(JSON.stringify(state)), {
    contentType: 'application/json',
  });
}
