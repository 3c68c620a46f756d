import fc from 'fast-check';
import { clipToNorm, dpFedAvg, fedAvg, l2Norm, type ClientUpdate } from '../../../../src/core/federated';
import { KernelMemory } from '../../../../src/core/kernels/aggregation-kernels';
import { previousDpFedAvgWeights } from '../../../../bench/suites/aggregation-previous';
import { fakeSecureRandom } from './fake-secure-random';

const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

/** K updates of P values (long enough for the SIMD kernels) with norms around `norm`·(0.25 … 4). */
function updates(count: number, length: number, seed: number, norm: number): ClientUpdate[] {
  let s = seed | 1;
  return Array.from({ length: count }, (_, k) => {
    const a = norm * 2 ** ((k % 5) - 2) * Math.sqrt(3 / length);
    const delta = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      delta[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * a;
    }
    return { hospitalId: `h${String((k * 7919) % 1000).padStart(3, '0')}`, delta, numExamples: 10 + k };
  });
}

const sequentialNorm = (v: Float32Array) => {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
};

describe('dpFedAvg on the SIMD kernels', () => {
  const lengthArb = fc.constantFrom(512, 1000, 8195, 20_001);

  it('gives the bits of the straightforward path (clipToNorm copies, then a float64 sum) on long random rounds', () => {
    fc.assert(
      fc.property(
        lengthArb,
        fc.integer({ min: 1, max: 13 }),
        fc.integer(),
        fc.constantFrom(0, 1.1),
        (length, count, seed, noiseMultiplier) => {
          const round = updates(count, length, seed, 1);
          const global = new Float32Array(length).fill(0.25);
          const m = count + 1;
          const ctx = () => ({
            round: 1,
            expectedHospitals: m,
            enrolledHospitals: m,
            random: fakeSecureRandom(seed),
          });
          const now = dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm: 1, noiseMultiplier }).aggregate(
            global,
            round,
            undefined,
            ctx(),
          );
          const old = previousDpFedAvgWeights(
            global,
            round,
            { clipNorm: 1, noiseMultiplier, weighting: 'uniform' },
            ctx(),
          );
          expect(bits(now.weights)).toEqual(bits(old.weights));
          expect(now.report.updateNorms).toEqual(old.updateNorms);
          expect(now.report.clippedHospitals).toEqual(old.clippedHospitals);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('is numerically the one-accumulator computation of before the kernels (norms to 1e-12, weights to a float32 ulp)', () => {
    const length = 30_000;
    const round = updates(9, length, 42, 1);
    const global = new Float32Array(length);
    const result = dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm: 1, noiseMultiplier: 0 }).aggregate(
      global,
      round,
      undefined,
      { round: 1, expectedHospitals: 9, enrolledHospitals: 9 },
    );
    const sum = new Float64Array(length);
    for (const u of round) {
      const norm = sequentialNorm(u.delta);
      expect(Math.abs(result.report.updateNorms[u.hospitalId] - norm) / norm).toBeLessThan(1e-12);
      const scale = norm > 1 ? 1 / norm : 1;
      for (let i = 0; i < length; i++) sum[i] += Math.fround(u.delta[i] * scale);
    }
    for (let i = 0; i < length; i++) {
      const expected = Math.fround(sum[i] / 9);
      expect(Math.abs(result.weights[i] - expected)).toBeLessThanOrEqual(
        Math.abs(expected) * 2 ** -22 + 1e-30,
      );
    }
  });

  it('clips every update whose norm exceeds C to norm C, and only those (norms 0.25 C … 4 C)', () => {
    const clipNorm = 0.5;
    const length = 4099;
    const round = updates(10, length, 9, clipNorm);
    const over = round
      .filter((u) => l2Norm(u.delta) > clipNorm)
      .map((u) => u.hospitalId)
      .sort();
    expect(over.length).toBeGreaterThanOrEqual(4);
    expect(over.length).toBeLessThan(10);
    const result = dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm, noiseMultiplier: 0 }).aggregate(
      new Float32Array(length),
      round,
      undefined,
      { round: 1, expectedHospitals: 10, enrolledHospitals: 10 },
    );
    expect(result.report.clippedHospitals).toEqual(over);
    for (const u of round) expect(result.report.updateNorms[u.hospitalId]).toBe(l2Norm(u.delta));
    // Σ of the clipped copies ÷ m: each copy has norm ≤ C, so ‖result‖ ≤ C.
    const expected = new Float64Array(length);
    for (const u of [...round].sort((a, b) => (a.hospitalId < b.hospitalId ? -1 : 1))) {
      const { clipped } = clipToNorm(u.delta, clipNorm);
      expect(l2Norm(clipped)).toBeLessThanOrEqual(clipNorm * (1 + 1e-6));
      for (let i = 0; i < length; i++) expected[i] += clipped[i];
    }
    expect(bits(result.weights)).toEqual(bits(Float32Array.from(expected, (x) => x / 10)));
    expect(l2Norm(result.weights)).toBeLessThanOrEqual(clipNorm * (1 + 1e-6));
  });

  it('reads updates that live in kernel memory in place, with the same result', () => {
    const memory = KernelMemory.create()!;
    const round = updates(11, 5000, 3, 1);
    const inMemory = round.map((u) => {
      const delta = memory.float32(5000);
      delta.set(u.delta);
      return { ...u, delta };
    });
    const run = (r: ClientUpdate[]) =>
      dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm: 1, noiseMultiplier: 1 }).aggregate(
        new Float32Array(5000),
        r,
        undefined,
        { round: 1, expectedHospitals: 11, enrolledHospitals: 11, random: fakeSecureRandom(5) },
      );
    expect(bits(run(inMemory).weights)).toEqual(bits(run(round).weights));
  });

  it('in kernel memory: the noise and the average use reused work areas, the spent noise is zeroed, and rounds stay independent', () => {
    const memory = KernelMemory.create()!;
    const length = 6000;
    const inMemory = (r: ClientUpdate[]) =>
      r.map((u) => {
        const delta = memory.float32(length);
        delta.set(u.delta);
        return { ...u, delta };
      });
    const strategy = dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm: 1, noiseMultiplier: 1.3 });
    const ctx = (seed: number) => ({
      round: 1,
      expectedHospitals: 9,
      enrolledHospitals: 9,
      random: fakeSecureRandom(seed),
    });
    const global = new Float32Array(length).fill(0.1);
    const first = strategy.aggregate(global, inMemory(updates(9, length, 4, 1)), undefined, ctx(1));
    const firstBits = bits(first.weights);
    const second = strategy.aggregate(global, inMemory(updates(9, length, 8, 1)), undefined, ctx(2));
    // The first round's weights are the caller's own array: the second round did not overwrite them.
    expect(bits(first.weights)).toEqual(firstBits);
    expect(bits(second.weights)).not.toEqual(firstBits);
    // Each equals the same round computed outside kernel memory (fresh arrays, plain loops).
    const plain = strategy.aggregate(global, updates(9, length, 8, 1), undefined, ctx(2));
    expect(bits(second.weights)).toEqual(bits(plain.weights));
    expect(memory.workspaceFloat64('noise', length).every((x) => x === 0)).toBe(true);
  });

  it('hands an inner strategy without a registered server step its own copy of the noisy average', () => {
    const memory = KernelMemory.create()!;
    const length = 4096;
    // An inner strategy that returns the average it was given as the new weights (it keeps the array).
    const keeper = {
      name: 'keeper',
      aggregate: (_g: Float32Array, u: ClientUpdate[]) => ({
        weights: u[0].delta,
        state: {},
        report: {
          strategy: 'keeper',
          participants: [],
          clippedHospitals: [],
          updateNorms: {},
          noiseStd: 0,
          privacyEvent: null,
        },
      }),
    };
    const strategy = dpFedAvg(keeper, { clipNorm: 1, noiseMultiplier: 1 });
    const round = (seed: number) =>
      updates(5, length, seed, 1).map((u) => {
        const delta = memory.float32(length);
        delta.set(u.delta);
        return { ...u, delta };
      });
    const ctx = { round: 1, expectedHospitals: 5, enrolledHospitals: 5, random: fakeSecureRandom(3) };
    const first = strategy.aggregate(new Float32Array(length), round(1), undefined, ctx);
    const kept = bits(first.weights);
    strategy.aggregate(new Float32Array(length), round(2), undefined, ctx);
    expect(bits(first.weights)).toEqual(kept);
    expect(memory.owns(first.weights)).toBe(false);
  });

  it('names the hospital and index of a non-finite value in a long update', () => {
    const round = updates(3, 2048, 1, 1);
    round[2].delta[1500] = NaN;
    expect(() =>
      dpFedAvg(fedAvg(), { clipNorm: 1, noiseMultiplier: 0 }).aggregate(
        new Float32Array(2048),
        round,
        undefined,
        {
          round: 1,
          expectedHospitals: 3,
          enrolledHospitals: 3,
        },
      ),
    ).toThrow(
      new RegExp(`hospital ${round[2].hospitalId}: delta has a non-finite value \\(NaN\\) at index 1500`),
    );
  });
});
