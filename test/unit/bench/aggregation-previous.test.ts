import fc from 'fast-check';
import { dpFedAvg, fedAvg, type ClientUpdate } from '../../../src/core/federated';
import { previousDpFedAvgWeights, previousFedAvgWeights } from '../../../bench/suites/aggregation-previous';
import { fakeSecureRandom } from '../core/federated/fake-secure-random';

const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

const roundArb = fc.integer({ min: 1, max: 24 }).chain((length) =>
  fc.record({
    updates: fc.uniqueArray(
      fc.record({
        hospitalId: fc.string({ minLength: 1, maxLength: 3 }),
        delta: fc
          .array(fc.float({ min: -1e3, max: 1e3, noNaN: true }), { minLength: length, maxLength: length })
          .map((a) => Float32Array.from(a)),
        numExamples: fc.oneof(
          fc.integer({ min: 0, max: 5000 }),
          fc.double({ min: 0.5, max: 1e4, noNaN: true }),
        ),
      }),
      { minLength: 1, maxLength: 6, selector: (u) => u.hospitalId },
    ),
    global: fc
      .array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: length, maxLength: length })
      .map((a) => Float32Array.from(a)),
  }),
);

// The bench keeps the pre-rewrite aggregation as its "previous" baseline; both must compute the same bits.
describe('bench baseline: the previous aggregation path', () => {
  it('fedAvg gives the same weights and norms, bit for bit', () => {
    fc.assert(
      fc.property(
        roundArb,
        fc.constantFrom('examples' as const, 'uniform' as const),
        fc.constantFrom(1, 0.3, 2),
        ({ updates, global }, weighting, eta) => {
          const ctx = { round: 1, expectedHospitals: updates.length, enrolledHospitals: updates.length };
          const run = () =>
            fedAvg({ weighting, serverLearningRate: eta }).aggregate(global, updates, undefined, ctx);
          const old = () => previousFedAvgWeights(global, updates, weighting, eta);
          if (weighting === 'examples' && updates.every((u) => u.numExamples === 0)) {
            expect(run).toThrow(/no weight/);
            expect(old).toThrow(/no weight/);
            return;
          }
          const now = run();
          expect(bits(now.weights)).toEqual(bits(old().weights));
          expect(now.report.updateNorms).toEqual(old().updateNorms);
        },
      ),
    );
  });

  it('dpFedAvg(fedAvg) gives the same weights, norms and clipped hospitals, bit for bit', () => {
    fc.assert(
      fc.property(
        roundArb,
        fc.constantFrom(0.5, 10, 1e4),
        fc.constantFrom(0, 1.1),
        fc.integer({ min: 0, max: 3 }),
        fc.integer(),
        ({ updates, global }, clipNorm, noiseMultiplier, extra, seed) => {
          const m = updates.length + extra;
          const ctx = (s: number) => ({
            round: 1,
            expectedHospitals: m,
            enrolledHospitals: m,
            random: fakeSecureRandom(s),
          });
          const now = dpFedAvg(fedAvg({ weighting: 'uniform' }), { clipNorm, noiseMultiplier }).aggregate(
            global,
            updates as ClientUpdate[],
            undefined,
            ctx(seed),
          );
          const old = previousDpFedAvgWeights(
            global,
            updates,
            { clipNorm, noiseMultiplier, weighting: 'uniform' },
            ctx(seed),
          );
          expect(bits(now.weights)).toEqual(bits(old.weights));
          expect(now.report.updateNorms).toEqual(old.updateNorms);
          expect(now.report.clippedHospitals).toEqual(old.clippedHospitals);
        },
      ),
    );
  });
});
