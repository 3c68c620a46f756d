import fc from 'fast-check';
import {
  applyPairwiseMasks,
  maskSign,
  sumModular,
  unmaskSum,
  SecureAggregationError,
  type PeerSeed,
  type RevealedSeed,
} from '../../../../src/core/secure-aggregation';
import { testExpander } from './test-expander';

/** Symmetric pair seeds: seedOf(a, b) === seedOf(b, a), as X25519 + HKDF gives at the edge. */
function pairSeeds(ids: string[], base: number): (a: string, b: string) => Uint8Array {
  const table = new Map<string, Uint8Array>();
  ids.forEach((a, i) =>
    ids.forEach((b, j) => {
      if (i < j)
        table.set(
          `${a}|${b}`,
          Uint8Array.from({ length: 32 }, (_, t) => (base + 31 * i + 7 * j + t * 13) & 255),
        );
    }),
  );
  return (a, b) => table.get(ids.indexOf(a) < ids.indexOf(b) ? `${a}|${b}` : `${b}|${a}`)!;
}

function maskAll(
  ids: string[],
  inputs: Int32Array[],
  seedOf: (a: string, b: string) => Uint8Array,
): Int32Array[] {
  return ids.map((id, i) => {
    const peers: PeerSeed[] = ids.filter((p) => p !== id).map((p) => ({ peerId: p, seed: seedOf(id, p) }));
    return applyPairwiseMasks(inputs[i], id, peers, testExpander);
  });
}

const roundArb = fc
  .record({
    k: fc.integer({ min: 2, max: 8 }),
    p: fc.integer({ min: 1, max: 64 }),
    base: fc.integer({ min: 0, max: 255 }),
    words: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), {
      minLength: 8 * 64,
      maxLength: 8 * 64,
    }),
  })
  .map(({ k, p, base, words }) => {
    // Shuffled, non-contiguous ids: ordering is by string comparison, not by list position.
    const ids = Array.from(
      { length: k },
      (_, i) => `hospital-${String.fromCharCode(122 - ((i * 5) % 26))}${i}`,
    );
    const inputs = ids.map((_, i) => Int32Array.from(words.slice(i * p, (i + 1) * p)));
    return { ids, inputs, p, seedOf: pairSeeds(ids, base) };
  });

describe('pairwise masks (Bonawitz et al. 2017 §4)', () => {
  it('cancel exactly in the modular sum (property over K ∈ [2, 8], P, seeds)', () => {
    fc.assert(
      fc.property(roundArb, ({ ids, inputs, p, seedOf }) => {
        const masked = maskAll(ids, inputs, seedOf);
        expect(sumModular(masked, p)).toEqual(sumModular(inputs, p));
        // and each masked vector differs from its input unless the mask happens to be 0
        if (p >= 4) expect(masked[0]).not.toEqual(inputs[0]);
      }),
    );
  });

  it('recover one or two dropped hospitals from the survivors’ revealed seeds (property)', () => {
    fc.assert(
      fc.property(
        roundArb,
        fc.integer({ min: 1, max: 2 }),
        fc.nat(),
        ({ ids, inputs, p, seedOf }, drops, pick) => {
          fc.pre(ids.length - drops >= 1);
          const masked = maskAll(ids, inputs, seedOf);
          const dropped = new Set<string>();
          for (let t = 0; dropped.size < drops; t++) dropped.add(ids[(pick + t) % ids.length]);
          const survivors = ids.filter((id) => !dropped.has(id));
          const revealed: RevealedSeed[] = survivors.flatMap((s) =>
            [...dropped].map((d) => ({ survivorId: s, droppedId: d, seed: seedOf(s, d) })),
          );
          const maskedUpdates = new Map(survivors.map((s) => [s, masked[ids.indexOf(s)]]));
          const sum = unmaskSum(
            { participants: ids, maskedUpdates, revealedSeeds: revealed, length: p },
            testExpander,
          );
          expect(sum).toEqual(
            sumModular(
              survivors.map((s) => inputs[ids.indexOf(s)]),
              p,
            ),
          );
        },
      ),
    );
  });

  it('refuses to unmask with a missing seed, or with a seed for a hospital whose update arrived', () => {
    const ids = ['a', 'b', 'c'];
    const seedOf = pairSeeds(ids, 1);
    const inputs = ids.map(() => new Int32Array([1, 2, 3]));
    const masked = maskAll(ids, inputs, seedOf);
    const maskedUpdates = new Map([
      ['a', masked[0]],
      ['b', masked[1]],
    ]);
    const round = { participants: ids, maskedUpdates, length: 3 };
    expect(() =>
      unmaskSum(
        { ...round, revealedSeeds: [{ survivorId: 'a', droppedId: 'c', seed: seedOf('a', 'c') }] },
        testExpander,
      ),
    ).toThrow(/missing revealed seeds for \(b, c\)/);
    expect(() =>
      unmaskSum(
        {
          ...round,
          revealedSeeds: [
            { survivorId: 'a', droppedId: 'c', seed: seedOf('a', 'c') },
            { survivorId: 'b', droppedId: 'c', seed: seedOf('b', 'c') },
            { survivorId: 'a', droppedId: 'b', seed: seedOf('a', 'b') },
          ],
        },
        testExpander,
      ),
    ).toThrow(SecureAggregationError);
    expect(() =>
      unmaskSum(
        {
          participants: ['a', 'b'],
          maskedUpdates: new Map([['z', masked[0]]]),
          revealedSeeds: [],
          length: 3,
        },
        testExpander,
      ),
    ).toThrow(/z sent a masked update but did not mask/);
  });

  it('orders ids by string comparison and refuses self-pairs', () => {
    expect(maskSign('a', 'b')).toBe(1);
    expect(maskSign('b', 'a')).toBe(-1);
    expect(() => maskSign('a', 'a')).toThrow(RangeError);
  });
});
