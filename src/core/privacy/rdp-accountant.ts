import type { DpEvent } from './dp-event';
import { rdpOfSampledGaussian } from './rdp-sampled-gaussian';
import { epsilonFromRdp } from './rdp-to-epsilon';

/**
 * dp_accounting's RdpAccountant default orders (rdp_privacy_accountant.py, DEFAULT_RDP_ORDERS):
 * [1 + x / 10 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512, 1024].
 * (Opacus and older TF Privacy use range(12, 64), which omits order 11.)
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128,
  256,
  512,
  1024,
]);

/**
 * RDP of `event` at each order. Composition adds RDP (Mironov 2017, Proposition 1), so
 * self-composition multiplies it by the count.
 */
export function computeRdp(event: DpEvent, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  switch (event.kind) {
    case 'no-op':
      return orders.map(() => 0);
    case 'gaussian':
      return sampledGaussianCurve(1, event.noiseMultiplier, orders);
    case 'poisson-sampled': {
      const noiseMultiplier = effectiveNoiseMultiplier(event.event);
      if (noiseMultiplier === Infinity) return orders.map(() => 0);
      return sampledGaussianCurve(event.samplingProbability, noiseMultiplier, orders);
    }
    case 'self-composed': {
      if (!Number.isInteger(event.count) || event.count < 0) {
        throw new RangeError(`self-composed count must be a non-negative integer, got ${event.count}`);
      }
      // Zero repetitions release nothing, even for a mechanism with infinite RDP (avoid 0 * Infinity).
      if (event.count === 0) return orders.map(() => 0);
      return computeRdp(event.event, orders).map((r) => r * event.count);
    }
    case 'composed': {
      const total = orders.map(() => 0);
      for (const inner of event.events) {
        const rdp = computeRdp(inner, orders);
        for (let i = 0; i < total.length; i++) total[i] += rdp[i];
      }
      return total;
    }
  }
}

/**
 * The RDP curve of one sampled Gaussian, memoised: ledgers and plans recompute the same few
 * mechanisms (every job recomposes its hospital's entries; every calibration step retries one z),
 * and the fractional-order series are the accountant's whole cost. A pure function of its
 * arguments, so a cached curve is the curve; the cache is bounded.
 */
const CURVE_CACHE_LIMIT = 4096;
const curveCache = new Map<string, readonly number[]>();

function sampledGaussianCurve(q: number, noiseMultiplier: number, orders: readonly number[]): number[] {
  const key = `${q}|${noiseMultiplier}|${orders === DEFAULT_RDP_ORDERS ? 'default' : orders.join(',')}`;
  let curve = curveCache.get(key);
  if (!curve) {
    curve = orders.map((order) => rdpOfSampledGaussian(q, noiseMultiplier, order));
    if (curveCache.size >= CURVE_CACHE_LIMIT) curveCache.delete(curveCache.keys().next().value!);
    curveCache.set(key, curve);
  }
  return [...curve];
}

/**
 * A Poisson-sampled event is accounted as one sampled Gaussian: a composition of Gaussian queries
 * on the same sample is one Gaussian query with sigma_eff = (sum_i sigma_i^-2)^(-1/2) (Mironov,
 * Talwar, Zhang 2019, Sec. 3.1; dp_accounting `_effective_gaussian_noise_multiplier`).
 */
function effectiveNoiseMultiplier(event: DpEvent): number {
  const inverseSquares = sumInverseSquares(event);
  return inverseSquares === 0 ? Infinity : 1 / Math.sqrt(inverseSquares);
}

function sumInverseSquares(event: DpEvent): number {
  switch (event.kind) {
    case 'no-op':
      return 0;
    case 'gaussian':
      if (!(event.noiseMultiplier >= 0))
        throw new RangeError(`noise multiplier must be >= 0, got ${event.noiseMultiplier}`);
      return event.noiseMultiplier === 0 ? Infinity : 1 / (event.noiseMultiplier * event.noiseMultiplier);
    case 'self-composed':
      return event.count === 0 ? 0 : event.count * sumInverseSquares(event.event);
    case 'composed':
      return event.events.reduce((sum, e) => sum + sumInverseSquares(e), 0);
    case 'poisson-sampled':
      throw new RangeError(
        'a Poisson-sampled event nested inside another Poisson-sampled event is not supported',
      );
  }
}

/** (epsilon, delta) of `event`, with the improved RDP conversion over `orders`. */
export function computeEpsilon(
  event: DpEvent,
  delta: number,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
): { epsilon: number; order: number } {
  return epsilonFromRdp(orders, computeRdp(event, orders), delta);
}
