import { randomFillSync } from 'node:crypto';
import { standardNormalCdf } from '../../../src/core/privacy';
import {
  ZIGGURAT_LAYERS,
  ZIGGURAT_R,
  ZIGGURAT_V,
  zigguratNormals,
  zigguratTables,
} from '../../../src/runtime/ziggurat-normal';

const f = (x: number) => Math.exp(-0.5 * x * x);
const refill = (w: Uint32Array) => void randomFillSync(w);

function draw(n: number, bufferWords = 16384): Float64Array {
  const out = new Float64Array(n);
  zigguratNormals(new Uint32Array(bufferWords), bufferWords, out, zigguratTables(), refill);
  return out;
}

// Thresholds are ~5 sampling standard deviations: a correct sampler fails with probability < 1e-6.
describe('ziggurat standard normals (from node:crypto words)', () => {
  it('has 256 layers of equal area V, closing at the top (the exactness of the construction)', () => {
    const { x, f: F } = zigguratTables();
    expect(x[1]).toBe(ZIGGURAT_R);
    expect(x[0] * f(ZIGGURAT_R)).toBeCloseTo(ZIGGURAT_V, 17);
    for (let i = 1; i < ZIGGURAT_LAYERS; i++) {
      expect(x[i + 1]).toBeLessThan(x[i]);
      expect(F[i]).toBe(f(x[i]));
      // Layer i: [0, X[i]] × [F[i], F[i+1]]; the top one ends at f(0) = 1.
      expect(Math.abs(x[i] * (F[i + 1] - F[i]) - ZIGGURAT_V) / ZIGGURAT_V).toBeLessThan(1e-12);
    }
    // Base strip: rectangle [0, R] under f(R) plus the tail ∫_R^∞ f = V − R·f(R) > 0.
    expect(ZIGGURAT_V - ZIGGURAT_R * f(ZIGGURAT_R)).toBeGreaterThan(0);
    // That tail area is the normal's: sqrt(2π)·(1 − Φ(R)).
    const tail = Math.sqrt(2 * Math.PI) * (1 - standardNormalCdf(ZIGGURAT_R));
    expect(Math.abs(ZIGGURAT_V - ZIGGURAT_R * f(ZIGGURAT_R) - tail) / tail).toBeLessThan(1e-6);
  });

  it('passes a Kolmogorov-Smirnov test against the normal CDF (200k samples)', () => {
    const n = 200_000;
    const samples = draw(n).sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const cdf = standardNormalCdf(samples[i]);
      d = Math.max(d, (i + 1) / n - cdf, cdf - i / n);
    }
    expect(Math.sqrt(n) * d).toBeLessThan(2.5); // P(√n D > 2.5) ≈ 7.5e-6
  });

  it('puts the right mass in every layer’s wedge and in the tail beyond R (chi-square over 64 bins, tail count)', () => {
    const n = 1_000_000;
    const samples = draw(n, 64); // a small buffer: refills inside tails and wedges too
    // Bins on |x| with equal normal mass, plus the tail |x| > R (mass 2(1 − Φ(R)) ≈ 2.58e-4).
    const bins = 64;
    const counts = new Array<number>(bins).fill(0);
    let beyondR = 0;
    let negative = 0;
    for (const x of samples) {
      const p = 2 * standardNormalCdf(Math.abs(x)) - 1; // P(|X| < |x|), uniform for a true normal
      counts[Math.min(bins - 1, Math.floor(p * bins))]++;
      if (Math.abs(x) > ZIGGURAT_R) beyondR++;
      if (x < 0) negative++;
    }
    const expected = n / bins;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 63 degrees of freedom: mean 63, sd 11.2; P(chi2 > 125) < 1e-6.
    expect(chi2).toBeLessThan(125);
    const tailMass = 2 * (1 - standardNormalCdf(ZIGGURAT_R));
    const sd = Math.sqrt(n * tailMass);
    expect(Math.abs(beyondR - n * tailMass)).toBeLessThan(5 * sd);
    expect(Math.abs(negative - n / 2)).toBeLessThan(5 * Math.sqrt(n / 4));
    expect(samples.every(Number.isFinite)).toBe(true);
  });

  it('draws samples far in the tail with the tail’s own distribution (conditional CDF beyond R)', () => {
    const n = 4_000_000;
    const tail = Array.from(draw(n))
      .filter((x) => Math.abs(x) > ZIGGURAT_R)
      .map(Math.abs)
      .sort((a, b) => a - b);
    expect(tail.length).toBeGreaterThan(800);
    const q = 1 - standardNormalCdf(ZIGGURAT_R);
    let d = 0;
    tail.forEach((x, i) => {
      const cdf = (standardNormalCdf(x) - standardNormalCdf(ZIGGURAT_R)) / q;
      d = Math.max(d, (i + 1) / tail.length - cdf, cdf - i / tail.length);
    });
    expect(Math.sqrt(tail.length) * d).toBeLessThan(2.5);
  });

  it('uses two words for a sample in the rectangles and refills in place when the buffer ends', () => {
    const words = new Uint32Array(8);
    // Word a: layer 5, positive, u = 0 → x = 0 < X[6]: accepted from 2 words.
    words.set([5, 0, 5 | 256, 0]);
    const out = new Float64Array(2);
    let refills = 0;
    const end = zigguratNormals(words, 0, out, zigguratTables(), () => refills++);
    expect(end).toBe(4);
    expect(refills).toBe(0);
    expect(Object.is(out[0], 0)).toBe(true);
    expect(Object.is(out[1], -0)).toBe(true);
    const more = new Float64Array(3);
    zigguratNormals(words, 7, more, zigguratTables(), (w) => {
      refills++;
      w.fill(7); // layer 7, u tiny: inside the rectangle
    });
    expect(refills).toBe(1);
    expect(more.every((x) => x > 0 && x < 1e-6)).toBe(true);
  });
});
