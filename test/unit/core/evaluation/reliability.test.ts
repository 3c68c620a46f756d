import type { RiskHistogram } from '../../../../schemas/metrics';
import { MIN_STAYS_PER_BIN, reliabilityBins } from '../../../../src/core/evaluation/reliability';
import { EVALUATION_RISK_CUTS } from '../../../../src/core/evaluation/risk-histogram';
import { SeededRandom } from '../../../../src/core/random/seeded-random';

function normal(random: SeededRandom): number {
  const u = Math.max(1e-12, random.nextDouble());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
}

/** One bin of `n` stays with true death rate `rate`, sampled, then released with noise SD `noiseStd`. */
function oneBin(random: SeededRandom, n: number, rate: number, noiseStd: number): RiskHistogram {
  let deaths = 0;
  for (let i = 0; i < n; i++) if (random.nextDouble() < rate) deaths++;
  return {
    cuts: [0, 0.5, 1],
    positives: [deaths + noiseStd * normal(random), 0],
    negatives: [n - deaths + noiseStd * normal(random), 0],
    noiseStd,
  };
}

describe('reliability bins from a released risk histogram', () => {
  it('reads each bin: edges, midpoint, clamped counts and the observed rate', () => {
    const h: RiskHistogram = {
      cuts: [...EVALUATION_RISK_CUTS],
      positives: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -3],
      negatives: [99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 2],
      noiseStd: 0,
    };
    const bins = reliabilityBins(h);
    expect(bins).toHaveLength(13);
    expect(bins[0]).toMatchObject({
      lower: 0,
      upper: 0.01,
      predicted: 0.005,
      stays: 100,
      deaths: 1,
      observed: 0.01,
    });
    expect(bins[6].predicted).toBeCloseTo(0.125, 12);
    // A negative noisy count is clamped at zero; 2 stays are too few to say anything.
    expect(bins[12]).toMatchObject({ stays: 2, deaths: 0, enough: false, observed: null, interval: null });
    for (const b of bins.slice(0, 12)) {
      expect(b.interval![0]).toBeLessThanOrEqual(b.observed!);
      expect(b.interval![1]).toBeGreaterThanOrEqual(b.observed!);
      expect(b.interval![0]).toBeGreaterThanOrEqual(0);
      expect(b.interval![1]).toBeLessThanOrEqual(1);
    }
  });

  it('draws nothing for a bin with fewer stays than the minimum, or where the noise swamps the count', () => {
    const few = reliabilityBins({
      cuts: [0, 0.5, 1],
      positives: [1, 0],
      negatives: [MIN_STAYS_PER_BIN - 2, 0],
      noiseStd: 0,
    });
    expect(few[0].enough).toBe(false);
    const enough = reliabilityBins({
      cuts: [0, 0.5, 1],
      positives: [1, 0],
      negatives: [MIN_STAYS_PER_BIN - 1, 0],
      noiseStd: 0,
    });
    expect(enough[0].enough).toBe(true);
    // 60 noisy stays with noise SD 15 per count: the stay count's own noise (21) is over a third of it.
    const swamped = reliabilityBins({
      cuts: [0, 0.5, 1],
      positives: [10, 0],
      negatives: [50, 0],
      noiseStd: 15,
    });
    expect(swamped[0]).toMatchObject({ enough: false, observed: null, interval: null, stays: 60 });
    const clear = reliabilityBins({ cuts: [0, 0.5, 1], positives: [10, 0], negatives: [50, 0], noiseStd: 4 });
    expect(clear[0].enough).toBe(true);
  });

  it('widens the interval with the DP noise', () => {
    const exact = reliabilityBins({
      cuts: [0, 0.5, 1],
      positives: [20, 0],
      negatives: [180, 0],
      noiseStd: 0,
    })[0];
    const noisy = reliabilityBins({
      cuts: [0, 0.5, 1],
      positives: [20, 0],
      negatives: [180, 0],
      noiseStd: 9,
    })[0];
    const width = (b: typeof exact) => b.interval![1] - b.interval![0];
    expect(width(noisy)).toBeGreaterThan(width(exact) * 1.2);
    expect(noisy.observed).toBe(exact.observed);
  });

  // The nominal 95 % interval should cover the true rate about 95 % of the time, with and without
  // noise, at the rates and bin sizes ICU test splits have (measured: 2,000 draws per case).
  it.each([
    [60, 0.02, 0],
    [60, 0.02, 4],
    [150, 0.08, 4],
    [150, 0.08, 9],
    [400, 0.3, 9],
    [300, 0.12, 15],
  ])('covers the true rate: %i stays, rate %f, noise SD %f', (n, rate, noiseStd) => {
    const random = new SeededRandom(Math.round(n * 1000 + rate * 100 + noiseStd));
    let shown = 0;
    let covered = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const [bin] = reliabilityBins(oneBin(random, n, rate, noiseStd));
      if (!bin.interval) continue;
      shown++;
      if (bin.interval[0] <= rate && rate <= bin.interval[1]) covered++;
    }
    expect(shown).toBeGreaterThan(1900);
    expect(covered / shown).toBeGreaterThanOrEqual(0.93);
    expect(covered / shown).toBeLessThanOrEqual(0.995);
  });
});
