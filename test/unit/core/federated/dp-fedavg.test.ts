import fc from 'fast-check';
import { computeEpsilon, DpEventSchema } from '../../../../src/core/privacy';
import { dpFedAvg, fedAdam, fedAvg, l2Norm, type ClientUpdate } from '../../../../src/core/federated';
import { CryptoRandom } from '../../../../src/runtime/crypto-random';
import { SeededRandom } from '../../../../src/core/random/seeded-random';
import { fakeSecureRandom } from './fake-secure-random';

const f32 = (values: number[]) => Float32Array.from(values);

describe('dpFedAvg', () => {
  it('with z = 0 and no clipping active equals uniform FedAvg scaled by n / m', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((length) =>
          fc.uniqueArray(
            fc.record({
              hospitalId: fc.string({ minLength: 1, maxLength: 4 }),
              delta: fc
                .array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: length, maxLength: length })
                .map(f32),
              numExamples: fc.integer({ min: 1, max: 1000 }),
            }),
            { minLength: 1, maxLength: 5, selector: (u) => u.hospitalId },
          ),
        ),
        fc.integer({ min: 0, max: 5 }),
        (updates, extraExpected) => {
          const n = updates.length;
          const m = n + extraExpected;
          const context = { round: 3, expectedHospitals: m, enrolledHospitals: m + 2 };
          const global = new Float32Array(updates[0].delta.length).fill(0.5);
          const clipNorm = Math.max(...updates.map((u) => l2Norm(u.delta))) + 1;
          const dp = dpFedAvg(fedAvg(), { clipNorm, noiseMultiplier: 0 }).aggregate(
            global,
            updates,
            undefined,
            context,
          );
          const plain = fedAvg({ weighting: 'uniform' }).aggregate(global, updates, undefined, context);
          for (let i = 0; i < global.length; i++) {
            const expected = ((plain.weights[i] - global[i]) * n) / m;
            expect(dp.weights[i] - global[i]).toBeCloseTo(expected, 4);
          }
          expect(dp.report.clippedHospitals).toEqual([]);
          expect(dp.report.noiseStd).toBe(0);
        },
      ),
    );
  });

  it('clips each hospital to C and divides by the fixed denominator m, ignoring numExamples', () => {
    const updates: ClientUpdate[] = [
      { hospitalId: 'b', delta: f32([3, 4]), numExamples: 1_000_000 }, // norm 5 -> clipped to [0.6, 0.8]
      { hospitalId: 'a', delta: f32([0.5, 0]), numExamples: 1 }, // norm 0.5, untouched
    ];
    const context = { round: 1, expectedHospitals: 4, enrolledHospitals: 8 };
    const result = dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 0 }).aggregate(
      f32([0, 0]),
      updates,
      undefined,
      context,
    );
    expect(result.weights[0]).toBeCloseTo((0.6 + 0.5) / 4, 6);
    expect(result.weights[1]).toBeCloseTo(0.8 / 4, 6);
    expect(result.report).toMatchObject({
      strategy: 'dp-fedavg(fedavg)',
      participants: ['a', 'b'],
      clippedHospitals: ['b'],
      updateNorms: { a: 0.5, b: 5 },
      noiseStd: 0,
    });
  });

  it('adds noise with std z C / m to every coordinate', () => {
    const length = 200_000;
    const global = new Float32Array(length);
    const zeros: ClientUpdate[] = ['h1', 'h2'].map((hospitalId) => ({
      hospitalId,
      delta: new Float32Array(length),
      numExamples: 10,
    }));
    const context = { round: 1, expectedHospitals: 3, enrolledHospitals: 3, random: fakeSecureRandom(7) };
    const result = dpFedAvg(fedAvg(), { clipNorm: 2, noiseMultiplier: 1.5 }).aggregate(
      global,
      zeros,
      undefined,
      context,
    );
    const expectedStd = (1.5 * 2) / 3;
    expect(result.report.noiseStd).toBeCloseTo(expectedStd, 15);
    let sum = 0;
    let sumSquares = 0;
    for (const x of result.weights) {
      sum += x;
      sumSquares += x * x;
    }
    const mean = sum / length;
    const std = Math.sqrt(sumSquares / length - mean * mean);
    // Sampling sd of the std estimate is std / sqrt(2 n) ~ 0.16%; allow 1%.
    expect(Math.abs(std / expectedStd - 1)).toBeLessThan(0.01);
    expect(Math.abs(mean)).toBeLessThan((5 * expectedStd) / Math.sqrt(length));
  });

  it('draws its noise from node:crypto in production (CryptoRandom), and differs every round', () => {
    const context = { round: 1, expectedHospitals: 1, enrolledHospitals: 1, random: new CryptoRandom() };
    const strategy = dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 1 });
    const updates = [{ hospitalId: 'a', delta: new Float32Array(1000), numExamples: 1 }];
    const a = strategy.aggregate(new Float32Array(1000), updates, undefined, context).weights;
    const b = strategy.aggregate(new Float32Array(1000), updates, undefined, context).weights;
    expect(a).not.toEqual(b);
  });

  it('refuses to add noise without a secure random source', () => {
    const strategy = dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 1 });
    const updates = [{ hospitalId: 'a', delta: f32([1]), numExamples: 1 }];
    const base = { round: 1, expectedHospitals: 1, enrolledHospitals: 1 };
    expect(() => strategy.aggregate(f32([0]), updates, undefined, base)).toThrow(/SecureRandom/);
    const seeded = new SeededRandom(
      1,
    ) as unknown as import('../../../../src/core/random/random').SecureRandom;
    expect(() => strategy.aggregate(f32([0]), updates, undefined, { ...base, random: seeded })).toThrow(
      /SecureRandom/,
    );
  });

  it('records PoissonSampled(q = expected / enrolled, Gaussian(z)) for the ledger', () => {
    const updates = [{ hospitalId: 'a', delta: f32([1]), numExamples: 1 }];
    const strategy = dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 0.8 });
    const random = fakeSecureRandom(1);
    const sampled = strategy.aggregate(f32([0]), updates, undefined, {
      round: 1,
      expectedHospitals: 2,
      enrolledHospitals: 5,
      random,
    }).report.privacyEvent;
    expect(sampled).toEqual({
      kind: 'poisson-sampled',
      samplingProbability: 0.4,
      event: { kind: 'gaussian', noiseMultiplier: 0.8 },
    });
    expect(DpEventSchema.parse(sampled)).toEqual(sampled);
    const everyone = strategy.aggregate(f32([0]), updates, undefined, {
      round: 1,
      expectedHospitals: 3,
      enrolledHospitals: 3,
      random,
    }).report.privacyEvent;
    expect(everyone).toMatchObject({ samplingProbability: 1 });
  });

  it('records a clip-only round (z = 0) as an event with epsilon = infinity', () => {
    const event = dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 0 }).aggregate(
      f32([0]),
      [{ hospitalId: 'a', delta: f32([1]), numExamples: 1 }],
      undefined,
      { round: 1, expectedHospitals: 1, enrolledHospitals: 1 },
    ).report.privacyEvent;
    expect(event).not.toBeNull();
    expect(computeEpsilon(event!, 1e-5).epsilon).toBe(Infinity);
  });

  it('hands the noisy average to an inner server optimizer and keeps its state', () => {
    const strategy = dpFedAvg(fedAdam({ serverLearningRate: 0.1, tau: 0.01 }), {
      clipNorm: 10,
      noiseMultiplier: 0,
    });
    const context = { round: 1, expectedHospitals: 2, enrolledHospitals: 2 };
    const updates = [
      { hospitalId: 'a', delta: f32([1, -2]), numExamples: 10 },
      { hospitalId: 'b', delta: f32([3, 2]), numExamples: 30 },
    ];
    const viaDp = strategy.aggregate(f32([0, 0]), updates, undefined, context);
    const direct = fedAdam({ serverLearningRate: 0.1, tau: 0.01 }).aggregate(
      f32([0, 0]),
      updates,
      undefined,
      context,
    );
    expect(viaDp.weights).toEqual(direct.weights);
    expect(viaDp.state).toEqual({ inner: direct.state });
    expect(viaDp.report.strategy).toBe('dp-fedavg(fedadam)');
    const next = strategy.aggregate(viaDp.weights, updates, JSON.parse(JSON.stringify(viaDp.state)), context);
    const nextDirect = fedAdam({ serverLearningRate: 0.1, tau: 0.01 }).aggregate(
      direct.weights,
      updates,
      JSON.parse(JSON.stringify(direct.state)),
      context,
    );
    expect(next.weights).toEqual(nextDirect.weights);
  });

  it('validates options and context', () => {
    expect(() => dpFedAvg(fedAvg(), { clipNorm: 0, noiseMultiplier: 1 })).toThrow(RangeError);
    expect(() => dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: -1 })).toThrow(RangeError);
    // The messages name the bad value, so an operator can find it in the run's config.
    expect(() => dpFedAvg(fedAvg(), { clipNorm: -2, noiseMultiplier: 1 })).toThrow(
      /clipNorm must be positive, got -2/,
    );
    expect(() => dpFedAvg(fedAvg(), { clipNorm: Infinity, noiseMultiplier: 1 })).toThrow(/clipNorm/);
    expect(() => dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: NaN })).toThrow(
      /noiseMultiplier must be finite and >= 0, got NaN/,
    );
    const strategy = dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 0 });
    const updates = [{ hospitalId: 'a', delta: f32([1]), numExamples: 1 }];
    expect(() =>
      strategy.aggregate(f32([0]), updates, undefined, {
        round: 1,
        expectedHospitals: 0,
        enrolledHospitals: 1,
      }),
    ).toThrow(/expectedHospitals/);
    expect(() =>
      strategy.aggregate(f32([0]), updates, undefined, {
        round: 1,
        expectedHospitals: 3,
        enrolledHospitals: 2,
      }),
    ).toThrow(/enrolledHospitals/);
    expect(() =>
      strategy.aggregate(f32([0]), [{ hospitalId: 'h-3', delta: f32([NaN]), numExamples: 1 }], undefined, {
        round: 1,
        expectedHospitals: 1,
        enrolledHospitals: 1,
      }),
    ).toThrow(/h-3/);
  });
});
