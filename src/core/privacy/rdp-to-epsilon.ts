// Bound once: in a sandboxed context (jest's vm) each `Math.x` lookup is slow (log-space.ts).
const { expm1, log, log1p, max } = Math;
/**
 * Conversion from RDP curves to (epsilon, delta)-DP.
 *
 * Improved conversion (Balle, Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis Testing Interpretations
 * and Renyi Differential Privacy", Theorem 21; also Asoodeh et al. 2020, arXiv:2001.05990, Eq. 20):
 *   epsilon(alpha) = rdp(alpha) + log1p(-1/alpha) - (log delta + log alpha) / (alpha - 1),
 * minimised over the orders, as dp_accounting's `compute_epsilon` does. It is at least as tight as
 * Mironov 2017 Proposition 3 (rdp - log delta / (alpha - 1)).
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): { epsilon: number; order: number } {
  if (orders.length !== rdp.length) throw new RangeError('orders and rdp must have the same length');
  if (orders.length === 0) throw new RangeError('at least one RDP order is needed');
  if (!(delta >= 0 && delta <= 1)) throw new RangeError(`delta must be in [0, 1], got ${delta}`);
  for (let i = 0; i < orders.length; i++) {
    if (!(orders[i] >= 1)) throw new RangeError(`RDP order must be >= 1, got ${orders[i]}`);
    if (!(rdp[i] >= 0))
      throw new RangeError(`RDP must be >= 0 (and not NaN), got ${rdp[i]} at order ${orders[i]}`);
  }
  if (delta === 0) {
    // Pure DP from RDP needs order infinity; with finite orders nothing short of rdp = 0 gives delta = 0.
    return rdp.every((r) => r === 0)
      ? { epsilon: 0, order: orders[0] }
      : { epsilon: Infinity, order: orders[0] };
  }
  let best = Infinity;
  let bestOrder = orders[0];
  for (let i = 0; i < orders.length; i++) {
    const epsilon = epsilonAtOrder(orders[i], rdp[i], delta);
    if (epsilon < best) {
      best = epsilon;
      bestOrder = orders[i];
    }
  }
  return { epsilon: max(0, best), order: bestOrder };
}

function epsilonAtOrder(alpha: number, r: number, delta: number): number {
  // KL bound: delta >= sqrt(1 - exp(-KL)) already gives epsilon = 0, and RDP at any order >= 1
  // upper-bounds KL (Renyi divergence is non-decreasing in the order).
  if (delta * delta + expm1(-r) > 0) return 0;
  if (r === Infinity) return Infinity;
  // Order infinity is pure DP: the conversion's correction terms vanish in the limit.
  if (alpha === Infinity) return r;
  // The bound is numerically unstable as alpha -> 1 and useless there anyway (dp_accounting uses 1.01).
  if (alpha <= 1.01) return Infinity;
  return r + log1p(-1 / alpha) - log(delta * alpha) / (alpha - 1);
}
