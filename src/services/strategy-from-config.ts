import { blobPaths } from '../../schemas/documents';
import type { TrainingConfig } from '../../schemas/training-config';
import { dpFedAvg, fedAdam, fedAvg, type AggregationStrategy, type StrategyState } from '../core/federated';
import type { BlobStore } from '../ports/blob-store';

/** The aggregation strategy a run's configuration asks for (strategies wrap strategies, STYLE habit 4). */
export function buildStrategy(config: TrainingConfig): AggregationStrategy {
  const server =
    config.serverOptimizer === 'adam'
      ? fedAdam({ serverLearningRate: config.serverLearningRate })
      : fedAvg({
          serverLearningRate: config.serverLearningRate,
          weighting: config.aggregation === 'dp-fedavg' ? 'uniform' : 'examples',
        });
  if (config.aggregation === 'fedavg') return server;
  return dpFedAvg(server, { clipNorm: config.clipNorm, noiseMultiplier: config.noiseMultiplier });
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
