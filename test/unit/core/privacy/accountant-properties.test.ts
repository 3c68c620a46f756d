import fc from 'fast-check';
import {
  composedEvent,
  computeEpsilon,
  computeRdp,
  DEFAULT_RDP_ORDERS,
  DpEventSchema,
  gaussianEvent,
  NO_OP_EVENT,
  noiseMultiplierForEpsilon,
  poissonSampledEvent,
  rdpOfSampledGaussian,
  selfComposedEvent,
  type DpEvent,
} from '../../../../src/core/privacy';

const ORDERS = [1.5, 2, 2.5, 4, 8, 16, 32, 64];
const sampled = (q: number, z: number, steps: number): DpEvent =>
  selfComposedEvent(poissonSampledEvent(q, gaussianEvent(z)), steps);

describe('rdpOfSampledGaussian edge cases', () => {
  it('q = 1 is alpha / (2 sigma^2); q = 0 is 0; sigma = 0 and order infinity are infinite', () => {
    expect(rdpOfSampledGaussian(1, 2, 3)).toBe(3 / 8);
    expect(rdpOfSampledGaussian(0, 0, Infinity)).toBe(0);
    expect(rdpOfSampledGaussian(0.5, 0, 2)).toBe(Infinity);
    expect(rdpOfSampledGaussian(0.5, 1, Infinity)).toBe(Infinity);
  });
  it('rejects bad arguments', () => {
    expect(() => rdpOfSampledGaussian(1.5, 1, 2)).toThrow(RangeError);
    expect(() => rdpOfSampledGaussian(0.5, -1, 2)).toThrow(RangeError);
    expect(() => rdpOfSampledGaussian(0.5, 1, 0.5)).toThrow(RangeError);
  });
  it('fractional and integer orders agree in between (RDP is continuous and non-decreasing in the order)', () => {
    const at = (a: number) => rdpOfSampledGaussian(0.05, 1.1, a);
    expect(at(3)).toBeLessThanOrEqual(at(3.001) + 1e-12);
    expect(at(3.001)).toBeCloseTo(at(3), 4);
    expect(at(2.999)).toBeLessThanOrEqual(at(3) + 1e-12);
  });
});

/**
 * log A_alpha by brute-force quadrature (trapezoid rule in log space) of
 * A_alpha = int N(z; 0, s^2) ((1 - q) + q exp((2z - 1) / (2 s^2)))^alpha dz (Mironov et al. 2019, Sec. 3).
 */
function logAByQuadrature(q: number, s: number, alpha: number): number {
  const logIntegrand = (z: number): number => {
    const u = (2 * z - 1) / (2 * s * s);
    const logMix = u > 0 ? u + Math.log(q + (1 - q) * Math.exp(-u)) : Math.log1p(-q + q * Math.exp(u));
    return (-z * z) / (2 * s * s) - Math.log(s * Math.sqrt(2 * Math.PI)) + alpha * logMix;
  };
  const lo = -40 * s - 5;
  const hi = 40 * s + alpha + 5;
  const n = 200_000;
  const h = (hi - lo) / n;
  const values = Array.from({ length: n + 1 }, (_, i) => logIntegrand(lo + i * h));
  const peak = values.reduce((a, b) => Math.max(a, b), -Infinity);
  let sum = 0;
  values.forEach((v, i) => (sum += (i === 0 || i === n ? 0.5 : 1) * Math.exp(v - peak)));
  return peak + Math.log(sum * h);
}

describe('fractional orders against numerical integration', () => {
  // Includes cases where the two-series expansion converges only polynomially (q near 1/2, small
  // sigma), which an e^-30 absolute stopping rule alone cannot reach within 1000 terms.
  it.each([
    [0.01, 2.5, 1.5],
    [0.0529, 0.36, 1.5],
    [0.74, 0.3076, 1.5],
    [0.5, 8, 2.7],
    [0.1, 100, 20.5],
    [0.9, 0.8, 4.5],
  ])('q = %d, sigma = %d, alpha = %d', (q, sigma, alpha) => {
    const expected = logAByQuadrature(q, sigma, alpha) / (alpha - 1);
    const actual = rdpOfSampledGaussian(q, sigma, alpha);
    expect(actual).toBeGreaterThanOrEqual(expected * (1 - 1e-6));
    expect(Math.abs(actual - expected) / expected).toBeLessThan(1e-6);
  });

  it('falls back to a sound upper bound (the chord between integer orders) where the series stalls', () => {
    // q = 1/2, sigma = 1, alpha = 1.1: terms decay like i^-3.1, so 1000 terms cannot reach e^-30.
    const expected = logAByQuadrature(0.5, 1, 1.1) / 0.1;
    const actual = rdpOfSampledGaussian(0.5, 1, 1.1);
    expect(actual).toBeGreaterThanOrEqual(expected);
    expect(actual).toBeLessThanOrEqual(rdpOfSampledGaussian(0.5, 1, 2));
  });
});

describe('accountant properties', () => {
  it('epsilon decreases as z grows and increases with steps and with q', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.3, max: 5, noNaN: true }),
        fc.double({ min: 0.001, max: 0.95, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        (z, q, steps) => {
          const eps = (zz: number, qq: number, ss: number) =>
            computeEpsilon(sampled(qq, zz, ss), 1e-5, ORDERS).epsilon;
          const base = eps(z, q, steps);
          expect(eps(z * 1.2, q, steps)).toBeLessThanOrEqual(base + 1e-12);
          expect(eps(z, q, steps + 10)).toBeGreaterThanOrEqual(base - 1e-12);
          expect(eps(z, Math.min(1, q * 1.1), steps)).toBeGreaterThanOrEqual(base - 1e-12);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('composing [A, B] adds their RDP; self-composition multiplies it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.2, max: 10, noNaN: true }),
        fc.double({ min: 0.2, max: 10, noNaN: true }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 50 }),
        (z1, z2, q, count) => {
          const a = poissonSampledEvent(q, gaussianEvent(z1));
          const b = selfComposedEvent(gaussianEvent(z2), count);
          const sum = computeRdp(composedEvent([a, b]), ORDERS);
          const ra = computeRdp(a, ORDERS);
          const rb = computeRdp(b, ORDERS);
          sum.forEach((r, i) => expect(r).toBeCloseTo(ra[i] + rb[i], 12));
          const rg = computeRdp(gaussianEvent(z2), ORDERS);
          rb.forEach((r, i) => expect(r).toBeCloseTo(rg[i] * count, 10));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('a sampled composition of Gaussians uses the effective noise multiplier (sum z^-2)^(-1/2)', () => {
    const composed = poissonSampledEvent(0.1, composedEvent([gaussianEvent(2), gaussianEvent(2)]));
    const single = poissonSampledEvent(0.1, gaussianEvent(Math.SQRT2));
    const expected = computeRdp(single, ORDERS);
    computeRdp(composed, ORDERS).forEach((r, i) => expect(r).toBeCloseTo(expected[i], 12));
  });

  it('no-op and zero repetitions cost nothing, even of an infinite-RDP mechanism', () => {
    expect(computeRdp(NO_OP_EVENT, ORDERS).every((r) => r === 0)).toBe(true);
    expect(computeRdp(selfComposedEvent(gaussianEvent(0), 0), ORDERS).every((r) => r === 0)).toBe(true);
    expect(computeEpsilon(composedEvent([]), 1e-5).epsilon).toBe(0);
  });

  it('nested Poisson sampling is rejected rather than mis-accounted', () => {
    expect(() =>
      computeRdp(poissonSampledEvent(0.5, poissonSampledEvent(0.5, gaussianEvent(1))), ORDERS),
    ).toThrow(/nested/);
  });
});

describe('noiseMultiplierForEpsilon', () => {
  it('hospital-level epsilon = 1 over 10 rounds with every hospital each round (q = 1) needs z ~ 12.79', () => {
    const { noiseMultiplier, epsilon } = noiseMultiplierForEpsilon({
      targetEpsilon: 1,
      delta: 1e-5,
      samplingProbability: 1,
      steps: 10,
    });
    expect(noiseMultiplier).toBeCloseTo(12.7926, 3);
    expect(epsilon).toBeLessThanOrEqual(1);
  });

  it('reaches the target within tolerance and is minimal (0.99 z misses it)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.2, max: 8, noNaN: true }),
        fc.constantFrom(1, 0.05, 0.01),
        fc.integer({ min: 1, max: 100 }),
        (targetEpsilon, samplingProbability, steps) => {
          const options = {
            targetEpsilon,
            delta: 1e-5,
            samplingProbability,
            steps,
            orders: DEFAULT_RDP_ORDERS,
            tolerance: 1e-4,
          };
          const { noiseMultiplier, epsilon } = noiseMultiplierForEpsilon(options);
          expect(epsilon).toBeLessThanOrEqual(targetEpsilon);
          const event = (z: number) =>
            selfComposedEvent(poissonSampledEvent(samplingProbability, gaussianEvent(z)), steps);
          expect(computeEpsilon(event(noiseMultiplier), 1e-5).epsilon).toBe(epsilon);
          expect(computeEpsilon(event(noiseMultiplier * 0.99), 1e-5).epsilon).toBeGreaterThan(targetEpsilon);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('rejects impossible requests', () => {
    expect(() =>
      noiseMultiplierForEpsilon({ targetEpsilon: 0, delta: 1e-5, samplingProbability: 1, steps: 1 }),
    ).toThrow(RangeError);
    expect(() =>
      noiseMultiplierForEpsilon({ targetEpsilon: 1, delta: 0, samplingProbability: 1, steps: 1 }),
    ).toThrow(RangeError);
  });
});

describe('DpEventSchema', () => {
  it('accepts a nested ledger and round-trips through JSON', () => {
    const ledger: DpEvent = composedEvent([
      selfComposedEvent(poissonSampledEvent(0.01, gaussianEvent(1.1)), 300),
      poissonSampledEvent(1, gaussianEvent(0.5)),
      NO_OP_EVENT,
    ]);
    expect(DpEventSchema.parse(JSON.parse(JSON.stringify(ledger)))).toEqual(ledger);
  });
  it.each([
    { kind: 'gaussian', noiseMultiplier: -1 },
    { kind: 'poisson-sampled', samplingProbability: 1.5, event: { kind: 'no-op' } },
    { kind: 'self-composed', event: { kind: 'no-op' }, count: 2.5 },
    { kind: 'composed', events: [{ kind: 'laplace', scale: 1 }] },
    { kind: 'gaussian', noiseMultiplier: 1, extra: true },
  ])('rejects %j', (bad) => {
    expect(DpEventSchema.safeParse(bad).success).toBe(false);
  });
});
