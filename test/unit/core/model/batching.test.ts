import fc from 'fast-check';
import { shuffledBatches } from '../../../../src/core/model';
import { SeededRandom } from '../../../../src/core/random/seeded-random';

describe('shuffledBatches', () => {
  it('covers every row exactly once, in batches of the requested size (last may be short)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer(),
        (rows, size, seed) => {
          const batches = shuffledBatches(rows, size, new SeededRandom(seed));
          const seen = batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b);
          expect(seen).toEqual(Array.from({ length: rows }, (_, i) => i));
          expect(batches).toHaveLength(Math.ceil(rows / size));
          batches.slice(0, -1).forEach((b) => expect(b.length).toBe(size));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is reproducible from a seed and differs between epochs of one stream', () => {
    const flat = (r: SeededRandom) => Array.from(shuffledBatches(50, 7, r).flatMap((b) => Array.from(b)));
    expect(flat(new SeededRandom(1))).toEqual(flat(new SeededRandom(1)));
    const stream = new SeededRandom(1);
    expect(flat(stream)).not.toEqual(flat(stream));
  });
});
