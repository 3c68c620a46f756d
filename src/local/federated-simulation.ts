import type { LayersModel } from '@tensorflow/tfjs';
import type { TrainingConfig } from '../../schemas/training-config';
import { clipToNorm, type StrategyState } from '../core/federated';
import { getFlatWeights, setFlatWeights } from '../core/model';
import { CryptoRandom } from '../runtime/crypto-random';
import { buildStrategy } from '../services/strategy-from-config';

export interface SimulatedHospital {
  hospitalId: string;
  /** The weight FedAvg gives its update (the declared number of training stays). */
  declaredRows: number;
}

/**
 * A run's rounds in one process, as the jobs and the aggregator do them: every hospital every
 * round starts from the global weights, trains (the caller's `trainLocal`, which moves `model`),
 * clips its update at the source under DP-FedAvg, and the configured strategy aggregates. Leaves
 * the final global weights in `model`. Only a simulation can do this: it holds every hospital's rows.
 */
export async function simulateFederatedRounds(input: {
  config: TrainingConfig;
  model: LayersModel;
  hospitals: readonly SimulatedHospital[];
  trainLocal: (hospitalIndex: number, round: number) => Promise<void>;
}): Promise<void> {
  const { config, model, hospitals } = input;
  const strategy = buildStrategy(config);
  let global = getFlatWeights(model);
  let state: StrategyState | undefined;
  for (let round = 1; round <= config.rounds; round++) {
    const updates = [];
    for (let i = 0; i < hospitals.length; i++) {
      setFlatWeights(model, global);
      await input.trainLocal(i, round);
      const local = getFlatWeights(model);
      const delta = local.map((w, j) => w - global[j]);
      updates.push({
        hospitalId: hospitals[i].hospitalId,
        delta: config.aggregation === 'dp-fedavg' ? clipToNorm(delta, config.clipNorm).clipped : delta,
        numExamples: hospitals[i].declaredRows,
      });
    }
    const result = strategy.aggregate(global, updates, state, {
      round,
      expectedHospitals: hospitals.length,
      enrolledHospitals: hospitals.length,
      random: new CryptoRandom(),
    });
    global = result.weights;
    state = result.state;
  }
  setFlatWeights(model, global);
}
