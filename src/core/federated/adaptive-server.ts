import { weightedMeanDelta, type Weighting } from './weighted-mean';
import { applyStep, type AggregationStrategy, type StrategyState } from './strategy';
import { plainReport, serverStrategy, type ServerStep } from './server-step';

export interface AdaptiveServerOptions {
  /** eta, the server learning rate. */
  serverLearningRate: number;
  /** Default 0.9 (Reddi et al. 2021, Sec. 5). */
  beta1?: number;
  /** Default 0.99 (Reddi et al. 2021, Sec. 5); FedAdagrad has none. */
  beta2?: number;
  /** Adaptivity tau; default 1e-3 (inside the grid the paper searches, App. D). */
  tau?: number;
  /** The paper averages uniformly (default); 'examples' weights by numExamples as FedAvg does. */
  weighting?: Weighting;
}

/**
 * The second-moment rule that tells the three adaptive server optimizers of Reddi, Charles, Zaheer,
 * Garrett, Rush, Konečný, Kumar, McMahan 2021, "Adaptive Federated Optimization", Algorithm 2
 * apart (no bias correction), with Δ the round's mean update:
 *   FedAdagrad  v_t = v_{t-1} + Δ²
 *   FedAdam     v_t = β2·v_{t-1} + (1 − β2)·Δ²
 *   FedYogi     v_t = v_{t-1} − (1 − β2)·Δ²·sign(v_{t-1} − Δ²)
 * and in all three m_t = β1·m_{t-1} + (1 − β1)·Δ, x_{t+1} = x_t + η·m_t / (√v_t + τ),
 * m_{-1} = 0, v_{-1} = τ² (the algorithm's input v_{-1} ≥ τ²).
 * Yogi's additive, sign-controlled update keeps v from shrinking fast when Δ² drops, which the
 * paper finds steadier than Adam on heterogeneous clients; Adagrad's v only grows.
 */
type SecondMoment = (v: number, squared: number, beta2: number) => number;

const SECOND_MOMENTS: Record<'fedadagrad' | 'fedadam' | 'fedyogi', SecondMoment> = {
  fedadagrad: (v, squared) => v + squared,
  fedadam: (v, squared, beta2) => beta2 * v + (1 - beta2) * squared,
  fedyogi: (v, squared, beta2) => v - (1 - beta2) * squared * Math.sign(v - squared),
};

export const fedAdam = (options: AdaptiveServerOptions) => adaptiveServer('fedadam', options);
export const fedYogi = (options: AdaptiveServerOptions) => adaptiveServer('fedyogi', options);
export const fedAdagrad = (options: AdaptiveServerOptions) => adaptiveServer('fedadagrad', options);

function adaptiveServer(
  name: keyof typeof SECOND_MOMENTS,
  options: AdaptiveServerOptions,
): AggregationStrategy {
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
  const secondMoment = SECOND_MOMENTS[name];
  const step: ServerStep = (global, { sorted, norms }, state) => {
    const delta = weightedMeanDelta(sorted, weighting);
    const { m, v } = readMoments(name, state, global.length, tau);
    const update = new Float64Array(global.length);
    for (let i = 0; i < global.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * delta[i];
      v[i] = secondMoment(v[i], delta[i] * delta[i], beta2);
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
  name: string,
  state: StrategyState | undefined,
  length: number,
  tau: number,
): { m: Float64Array; v: Float64Array } {
  if (state === undefined || (state.m === undefined && state.v === undefined)) {
    return { m: new Float64Array(length), v: new Float64Array(length).fill(tau * tau) };
  }
  const { m, v } = state;
  if (!isNumberArray(m, length) || !isNumberArray(v, length)) {
    throw new Error(`${name} state must hold m and v as arrays of ${length} finite numbers (v >= 0)`);
  }
  if (v.some((x) => x < 0)) throw new Error(`${name} state: v must be non-negative`);
  return { m: Float64Array.from(m), v: Float64Array.from(v) };
}

export function isNumberArray(value: unknown, length: number): value is number[] {
  return (
    Array.isArray(value) &&
    value.length === length &&
    value.every((x) => typeof x === 'number' && Number.isFinite(x))
  );
}
