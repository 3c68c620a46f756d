import { weightedMeanDelta, type Weighting } from './weighted-mean';
import { applyStep, type AggregationStrategy, type StrategyState } from './strategy';
import { plainReport, serverStrategy, type ServerStep } from './server-step';

export interface FedAdamOptions {
  /** eta, the server learning rate. */
  serverLearningRate: number;
  /** Default 0.9 (Reddi et al. 2021, Sec. 5). */
  beta1?: number;
  /** Default 0.99 (Reddi et al. 2021, Sec. 5). */
  beta2?: number;
  /** Adaptivity tau; default 1e-3 (inside the grid the paper searches, App. D). */
  tau?: number;
  /** The paper averages uniformly (default); 'examples' weights by numExamples as FedAvg does. */
  weighting?: Weighting;
}

/**
 * FedAdam: Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar, McMahan 2021, "Adaptive Federated
 * Optimization", Algorithm 2 (Adam as ServerOpt, no bias correction):
 *   Delta_t = (1/|S|) sum_i Delta_i
 *   m_t = beta1 m_{t-1} + (1 - beta1) Delta_t
 *   v_t = beta2 v_{t-1} + (1 - beta2) Delta_t^2
 *   x_{t+1} = x_t + eta m_t / (sqrt(v_t) + tau)
 * with m_{-1} = 0 and v_{-1} = tau^2 (the algorithm's input v_{-1} >= tau^2).
 * State: { m: number[], v: number[] }, persisted between rounds.
 */
export function fedAdam(options: FedAdamOptions): AggregationStrategy {
  const eta = options.serverLearningRate;
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.99;
  const tau = options.tau ?? 1e-3;
  const weighting = options.weighting ?? 'uniform';
  if (!(eta > 0) || !Number.isFinite(eta))
    throw new RangeError(`serverLearningRate must be positive, got ${eta}`);
  if (!(beta1 >= 0 && beta1 < 1)) throw new RangeError(`beta1 must be in [0, 1), got ${beta1}`);
  if (!(beta2 >= 0 && beta2 < 1)) throw new RangeError(`beta2 must be in [0, 1), got ${beta2}`);
  if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError(`tau must be positive, got ${tau}`);
  const name = 'fedadam';
  const step: ServerStep = (global, { sorted, norms }, state) => {
    const delta = weightedMeanDelta(sorted, weighting);
    const { m, v } = readMoments(state, global.length, tau);
    const update = new Float64Array(global.length);
    for (let i = 0; i < global.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * delta[i];
      v[i] = beta2 * v[i] + (1 - beta2) * delta[i] * delta[i];
      update[i] = (eta * m[i]) / (Math.sqrt(v[i]) + tau);
    }
    return {
      weights: applyStep(global, update),
      state: { m: Array.from(m), v: Array.from(v) },
      report: plainReport(name, { sorted, norms }),
    };
  };
  return serverStrategy(name, step);
}

function readMoments(
  state: StrategyState | undefined,
  length: number,
  tau: number,
): { m: Float64Array; v: Float64Array } {
  if (state === undefined || (state.m === undefined && state.v === undefined)) {
    return { m: new Float64Array(length), v: new Float64Array(length).fill(tau * tau) };
  }
  const { m, v } = state;
  if (!isNumberArray(m, length) || !isNumberArray(v, length)) {
    throw new Error(`FedAdam state must hold m and v as arrays of ${length} finite numbers (v >= 0)`);
  }
  if (v.some((x) => x < 0)) throw new Error('FedAdam state: v must be non-negative');
  return { m: Float64Array.from(m), v: Float64Array.from(v) };
}

function isNumberArray(value: unknown, length: number): value is number[] {
  return (
    Array.isArray(value) &&
    value.length === length &&
    value.every((x) => typeof x === 'number' && Number.isFinite(x))
  );
}
