import { SeededRandom, standardNormal } from '../random/seeded-random';

/** Draws used by the generator, all from a handed-in SeededRandom (no ambient randomness). */

export function normal(random: SeededRandom, mean: number, sd: number): number {
  return mean + sd * standardNormal(random);
}

export function bernoulli(random: SeededRandom, p: number): boolean {
  return random.nextDouble() < p;
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000), with the shape < 1 boost U^(1/shape). */
export function gamma(random: SeededRandom, shape: number): number {
  if (shape < 1) {
    const u = 1 - random.nextDouble(); // in (0, 1]
    return gamma(random, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random.nextDouble();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Dirichlet(alpha) as normalised Gamma draws. */
export function dirichlet(random: SeededRandom, alpha: readonly number[]): number[] {
  const draws = alpha.map((a) => gamma(random, a));
  const total = draws.reduce((sum, x) => sum + x, 0);
  return draws.map((x) => x / total);
}

/** Index drawn with probability proportional to weights. */
export function categorical(random: SeededRandom, weights: readonly number[]): number {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let u = random.nextDouble() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Fisher–Yates shuffle of 0..n-1. */
export function permutation(random: SeededRandom, n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random.nextDouble() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/**
 * Integer sizes proportional to weights that sum exactly to total (largest-remainder rounding),
 * each at least minimum.
 */
export function apportion(weights: readonly number[], total: number, minimum: number): number[] {
  const k = weights.length;
  const spare = total - minimum * k;
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const exact = weights.map((w) => (spare * w) / weightSum);
  const sizes = exact.map((x) => Math.floor(x));
  let left = spare - sizes.reduce((sum, x) => sum + x, 0);
  const byRemainder = exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; left > 0; j++, left--) sizes[byRemainder[j % k].i] += 1;
  return sizes.map((x) => x + minimum);
}
