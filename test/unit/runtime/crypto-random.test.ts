import { CryptoRandom } from '../../../src/runtime/crypto-random';
import { standardNormalCdf } from '../../../src/core/privacy';

// Thresholds are ~5 sampling standard deviations: a correct generator fails with probability < 1e-6.
describe('CryptoRandom', () => {
  it('is marked secure', () => {
    expect(new CryptoRandom().secure).toBe(true);
  });

  it('produces standard normals: mean, variance and kurtosis of 1e6 samples', () => {
    const n = 1_000_000;
    const samples = new Float64Array(n);
    new CryptoRandom().fillStandardNormal(samples);
    let s1 = 0;
    let s2 = 0;
    let s4 = 0;
    for (const x of samples) {
      s1 += x;
      s2 += x * x;
      s4 += x * x * x * x;
    }
    const mean = s1 / n;
    const variance = s2 / n - mean * mean;
    const kurtosis = s4 / n / (variance * variance);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n)); // sd 1e-3
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n)); // sd 1.4e-3
    expect(Math.abs(kurtosis - 3)).toBeLessThan(5 * Math.sqrt(24 / n)); // sd 4.9e-3
    expect(samples.every(Number.isFinite)).toBe(true);
  });

  it('passes a Kolmogorov-Smirnov test against the normal CDF', () => {
    const n = 100_000;
    const samples = new Float64Array(n);
    new CryptoRandom().fillStandardNormal(samples);
    samples.sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const cdf = standardNormalCdf(samples[i]);
      d = Math.max(d, (i + 1) / n - cdf, cdf - i / n);
    }
    // P(sqrt(n) D > 2.5) ~ 7.5e-6 asymptotically (Kolmogorov distribution); Box-Muller with a skewed
    // or truncated uniform, or one output of each pair reused, lands far above.
    expect(Math.sqrt(n) * d).toBeLessThan(2.5);
  });

  it('fills Float32Array and odd lengths, across chunk boundaries', () => {
    const random = new CryptoRandom(64); // 16 words per chunk forces many refills
    const out = new Float32Array(10_001);
    random.fillStandardNormal(out);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(new Set(out).size).toBeGreaterThan(9_990);
    let s2 = 0;
    for (const x of out) s2 += x * x;
    expect(Math.abs(s2 / out.length - 1)).toBeLessThan(0.1);
  });

  it('gives uniform doubles in [0, 1) and uint32s', () => {
    const random = new CryptoRandom(1024);
    const n = 200_000;
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = random.nextDouble();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    const words = Array.from({ length: 1000 }, () => random.nextUint32());
    expect(words.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
  });

  it('two instances produce different streams', () => {
    const a = new Float64Array(64);
    const b = new Float64Array(64);
    new CryptoRandom().fillStandardNormal(a);
    new CryptoRandom().fillStandardNormal(b);
    expect(a).not.toEqual(b);
    const x = new CryptoRandom();
    const y = new CryptoRandom();
    expect(Array.from({ length: 8 }, () => x.nextUint32())).not.toEqual(
      Array.from({ length: 8 }, () => y.nextUint32()),
    );
  });

  it('rejects a bad chunk size', () => {
    expect(() => new CryptoRandom(6)).toThrow(RangeError);
  });
});
