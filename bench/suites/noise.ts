import { CryptoRandom } from '../../src/runtime/crypto-random';
import { measureSideBySide, type TimingOptions } from '../harness';
import type { Summary } from '../statistics';

export interface NoiseFigure {
  samples: number;
  /** Seconds to fill `samples` standard normals from CryptoRandom (node:crypto, Marsaglia polar). */
  cryptoSeconds: Summary;
  /** The same from Math.random with Box–Muller: fast, and unfit for DP noise. */
  mathRandomSeconds: Summary;
  cryptoSamplesPerSecond: number;
  mathRandomSamplesPerSecond: number;
  /** Crypto throughput / Math.random throughput. */
  ratio: number;
  ratioPairs: Summary;
}

/**
 * Box–Muller (Box & Muller 1958) from Math.random, both outputs of each pair used. The speed
 * ceiling for Gaussian noise in JavaScript; never for privacy (V8's xorshift128+ is predictable).
 */
export function mathRandomBoxMuller(out: Float64Array): void {
  const twoPi = 2 * Math.PI;
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - Math.random(); // (0, 1]: log(0) would be -Infinity
    const u2 = Math.random();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(twoPi * u2);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(twoPi * u2);
  }
}

export async function benchNoise(samples: number, timing: TimingOptions): Promise<NoiseFigure> {
  const random = new CryptoRandom();
  const a = new Float64Array(samples);
  const b = new Float64Array(samples);
  const pair = await measureSideBySide(
    () => {
      mathRandomBoxMuller(a);
      return a[0];
    },
    () => {
      random.fillStandardNormal(b);
      return b[0];
    },
    timing,
  );
  return {
    samples,
    cryptoSeconds: pair.subject,
    mathRandomSeconds: pair.baseline,
    cryptoSamplesPerSecond: samples / pair.subject.median,
    mathRandomSamplesPerSecond: samples / pair.baseline.median,
    ratio: pair.ratio,
    ratioPairs: pair.pairRatios,
  };
}
