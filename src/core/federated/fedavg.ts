import { weightedMeanDelta, type Weighting } from './weighted-mean';
import { l2Norm } from './l2-norm';
import { applyStep, validateUpdates, type AggregationStrategy } from './strategy';

export interface FedAvgOptions {
  /** 'examples' (default) weights each hospital by numExamples, as in McMahan et al. 2017. */
  weighting?: Weighting;
  /** eta; 1 (default) is plain FedAvg. */
  serverLearningRate?: number;
}

/**
 * Federated averaging (McMahan, Moore, Ramage, Hampson, Agüera y Arcas 2017, "Communication-Efficient
 * Learning of Deep Networks from Decentralized Data", Alg. 1), in server-optimizer form
 * (Reddi et al. 2021, Alg. 1 with SGD as ServerOpt): new = global + eta * sum_k w_k Delta_k / sum_k w_k.
 */
export function fedAvg(options: FedAvgOptions = {}): AggregationStrategy {
  const weighting = options.weighting ?? 'examples';
  const eta = options.serverLearningRate ?? 1;
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new RangeError(`serverLearningRate must be positive, got ${eta}`);
  const name = 'fedavg';
  return {
    name,
    aggregate(global, updates) {
      const sorted = validateUpdates(global, updates);
      const mean = weightedMeanDelta(sorted, weighting);
      if (eta !== 1) for (let i = 0; i < mean.length; i++) mean[i] *= eta;
      return {
        weights: applyStep(global, mean),
        state: {},
        report: {
          strategy: name,
          participants: sorted.map((u) => u.hospitalId),
          clippedHospitals: [],
          updateNorms: Object.fromEntries(sorted.map((u) => [u.hospitalId, l2Norm(u.delta)])),
          noiseStd: 0,
          privacyEvent: null,
        },
      };
    },
  };
}
