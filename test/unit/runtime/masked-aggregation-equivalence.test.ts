import fc from 'fast-check';
import { clipToNorm, dpFedAvg, fedAvg } from '../../../src/core/federated';
import {
  chooseFixedPointScale,
  fixedPointErrorBound,
  unmaskSum,
  type RevealedSeed,
} from '../../../src/core/secure-aggregation';
import {
  aesCtrSeedExpander,
  generateMaskingKeyPair,
  maskUpdate,
  revealSeedForDropped,
} from '../../../src/runtime/secure-aggregation-crypto';

/**
 * The masked path (hospitals clip, encode, mask with X25519/HKDF/AES-CTR pairs; the aggregator
 * sums mod 2^32, removes dropouts' masks with the survivors' seeds, decodes, and calls
 * aggregateClippedSum) gives the same model as plain DP-FedAvg on the survivors' updates, within the
 * fixed-point bound K/(2·scale·m) per coordinate (times the server learning rate) plus float32
 * rounding of the average and of the new weights.
 */
describe('masked vs unmasked DP-FedAvg', () => {
  const value = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true });
  const round = fc
    .record({
      hospitals: fc.integer({ min: 2, max: 6 }),
      length: fc.integer({ min: 1, max: 24 }),
      clipNorm: fc.constantFrom(0.05, 0.5, 1, 2, 10),
      serverLearningRate: fc.constantFrom(0.5, 1, 1.7),
      seed: fc.integer({ min: 0, max: 1000 }),
    })
    .chain((r) =>
      fc.record({
        ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fc.constant(v)])),
        global: fc.array(value, { minLength: r.length, maxLength: r.length }),
        deltas: fc.array(fc.array(value, { minLength: r.length, maxLength: r.length }), {
          minLength: r.hospitals,
          maxLength: r.hospitals,
        }),
        // Who delivered: at least one survivor; the rest dropped after masking.
        delivered: fc
          .array(fc.boolean(), { minLength: r.hospitals, maxLength: r.hospitals })
          .filter((d) => d.some(Boolean)),
      }),
    ) as fc.Arbitrary<{
    hospitals: number;
    length: number;
    clipNorm: number;
    serverLearningRate: number;
    global: number[];
    deltas: number[][];
    delivered: boolean[];
  }>;

  it('gives the same model within the fixed-point error bound, with and without dropouts', () => {
    fc.assert(
      fc.property(round, (r) => {
        const ids = Array.from({ length: r.hospitals }, (_, k) => `h${k}`);
        const keys = ids.map(() => generateMaskingKeyPair());
        const global = Float32Array.from(r.global);
        const options = { clipNorm: r.clipNorm, noiseMultiplier: 0 };
        const strategy = dpFedAvg(
          fedAvg({ serverLearningRate: r.serverLearningRate, weighting: 'uniform' }),
          options,
        );
        const context = { round: 1, expectedHospitals: r.hospitals, enrolledHospitals: r.hospitals };
        const params = chooseFixedPointScale(r.clipNorm, r.hospitals);

        const survivors = ids.filter((_, k) => r.delivered[k]);
        const dropped = ids.filter((_, k) => !r.delivered[k]);
        const plain = strategy.aggregate(
          global,
          survivors.map((id) => ({
            hospitalId: id,
            delta: Float32Array.from(r.deltas[ids.indexOf(id)]),
            numExamples: 1,
          })),
          undefined,
          context,
        );

        const maskedUpdates = new Map<string, Int32Array>();
        for (const [k, id] of ids.entries()) {
          const masked = maskUpdate({
            runId: 'prop',
            round: 1,
            hospitalId: id,
            privateKey: keys[k].privateKey,
            peers: ids.flatMap((peer, j) =>
              j === k ? [] : [{ hospitalId: peer, publicKey: keys[j].publicKey }],
            ),
            update: clipToNorm(Float32Array.from(r.deltas[k]), r.clipNorm).clipped,
            params,
          });
          if (r.delivered[k]) maskedUpdates.set(id, masked);
        }
        const revealedSeeds: RevealedSeed[] = survivors.flatMap((s) =>
          dropped.map((d) =>
            revealSeedForDropped({
              runId: 'prop',
              round: 1,
              survivorId: s,
              privateKey: keys[ids.indexOf(s)].privateKey,
              droppedId: d,
              droppedPublicKey: keys[ids.indexOf(d)].publicKey,
            }),
          ),
        );
        const sum = unmaskSum(
          { participants: ids, maskedUpdates, revealedSeeds, length: r.length },
          aesCtrSeedExpander,
        );
        const masked = strategy.aggregateClippedSum(
          global,
          { participants: survivors, sum: Float64Array.from(sum, (v) => v / params.scale) },
          undefined,
          context,
        );

        expect(masked.report.participants).toEqual(plain.report.participants);
        const bound = r.serverLearningRate * fixedPointErrorBound(params, r.hospitals);
        for (let i = 0; i < r.length; i++) {
          const step = Math.abs(plain.weights[i] - global[i]);
          const float32 = 2 ** -23 * (step + Math.abs(plain.weights[i]));
          expect(Math.abs(masked.weights[i] - plain.weights[i])).toBeLessThanOrEqual(bound + float32);
        }
      }),
      { numRuns: 60 },
    );
  });
});
