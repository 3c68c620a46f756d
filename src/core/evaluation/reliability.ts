import type { RiskHistogram } from '../../../schemas/metrics';

/**
 * One bin of a reliability diagram (predicted against observed risk), read off a released risk
 * histogram. Post-processing of a DP release: the counts are the noisy ones, clamped at zero.
 */
export interface ReliabilityBin {
  /** The bin's public edges [lower, upper). */
  lower: number;
  upper: number;
  /**
   * The risk the pooled metrics score every stay in the bin at (its midpoint): the histogram does
   * not say where inside the bin the predictions fell, so the diagram shows the whole bin too.
   */
  predicted: number;
  /** Noisy stays and deaths in the bin, clamped at zero and rounded for people. */
  stays: number;
  deaths: number;
  /** Observed death rate, null when too few stays to say (see `enough`). */
  observed: number | null;
  /** Approximate 95 % interval of the observed rate: test-split sampling and the DP noise. */
  interval: [number, number] | null;
  /** False when the bin holds too few stays, or the noise swamps them: nothing is shown for it. */
  enough: boolean;
}

/** Bins with fewer stays than this (after noise) are not drawn: one death would move them by ≥ 10 %. */
export const MIN_STAYS_PER_BIN = 10;

/** z of a two-sided 95 % normal interval. */
const Z95 = 1.959964;

/**
 * Each bin's observed death rate with an approximate 95 % interval. The test split's sampling
 * variation is a Wilson score interval (Wilson 1927; it stays inside [0, 1] and behaves at rates
 * near 0, where ICU bins sit); the DP noise on the two counts (SD σ each) adds, by the delta method,
 * a variance σ²·(P² + N²)/n⁴ to the rate P/n, combined with the sampling half-width in quadrature.
 * A bin is shown only with at least MIN_STAYS_PER_BIN stays and when the noise SD of its stay count
 * (σ·√2) is under a third of it; otherwise its figure would be mostly noise.
 */
export function reliabilityBins(h: RiskHistogram): ReliabilityBin[] {
  return h.positives.map((rawPositives, b) => {
    const positives = Math.max(0, rawPositives);
    const negatives = Math.max(0, h.negatives[b]);
    const n = positives + negatives;
    const lower = h.cuts[b];
    const upper = h.cuts[b + 1];
    const enough = n >= MIN_STAYS_PER_BIN && h.noiseStd * Math.SQRT2 < n / 3;
    const rate = n > 0 ? positives / n : null;
    return {
      lower,
      upper,
      predicted: (lower + upper) / 2,
      stays: Math.round(n),
      deaths: Math.round(positives),
      observed: enough ? rate : null,
      interval: enough && rate !== null ? rateInterval(positives, negatives, h.noiseStd) : null,
      enough,
    };
  });
}

function rateInterval(positives: number, negatives: number, noiseStd: number): [number, number] {
  const n = positives + negatives;
  const rate = positives / n;
  const z2 = Z95 * Z95;
  const centre = (rate + z2 / (2 * n)) / (1 + z2 / n);
  const samplingHalf = (Z95 / (1 + z2 / n)) * Math.sqrt((rate * (1 - rate)) / n + z2 / (4 * n * n));
  const noiseHalf = (Z95 * noiseStd * Math.hypot(positives, negatives)) / (n * n);
  const half = Math.hypot(samplingHalf, noiseHalf);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
