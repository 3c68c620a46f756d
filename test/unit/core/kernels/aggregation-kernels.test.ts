import fc from 'fast-check';
import {
  addModular,
  addModularJs,
  freshFloat32,
  KernelMemory,
  prepareFreshFloat32,
  noisyAverageInto,
  noisyAverageJs,
  stepOneInto,
  stepOneJs,
  scaledAddJs,
  SQUARE_CHUNK,
  scaledSumInto,
  sumModularInto,
  sumOfSquaresJs,
  sumsOfSquares,
  TILE,
  WASM_MIN_LENGTH,
} from '../../../../src/core/kernels/aggregation-kernels';
import { kernelModule } from '../../../../src/core/kernels/aggregation-wasm';

/** xorshift32 values in [-a, a]: long vectors without fast-check's per-value cost. */
function vectors(count: number, length: number, seed: number, a = 1): Float32Array[] {
  let s = seed | 1;
  return Array.from({ length: count }, () => {
    const v = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      v[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * a;
    }
    return v;
  });
}
const int32s = (count: number, length: number, seed: number) =>
  vectors(count, length, seed, 2 ** 31).map((v) => Int32Array.from(v, (x) => x | 0));
const bits64 = (v: Float64Array) => Array.from(new BigUint64Array(v.buffer, v.byteOffset, v.length));

// Lengths around the wasm threshold, the 8-lane blocks, the 4-value groups and the tiles.
const lengthArb = fc.constantFrom(
  1,
  7,
  8,
  13,
  WASM_MIN_LENGTH - 1,
  WASM_MIN_LENGTH,
  WASM_MIN_LENGTH + 3,
  WASM_MIN_LENGTH + 4,
  TILE - 1,
  TILE + 5,
  TILE + 12,
  3 * TILE + 2,
);

describe('aggregation kernels (WebAssembly SIMD against their JavaScript definitions)', () => {
  it('this engine runs the SIMD module (otherwise every test below only checks the JS twins)', () => {
    expect(kernelModule()).not.toBeNull();
  });

  it('sums of squares: the same bits as sumOfSquaresJs, in place or copied, any batch size', () => {
    const memory = KernelMemory.create()!;
    fc.assert(
      fc.property(lengthArb, fc.integer({ min: 1, max: 11 }), fc.integer(), (length, count, seed) => {
        const plain = vectors(count, length, seed, 1e3);
        const expected = plain.map(sumOfSquaresJs);
        expect(sumsOfSquares(plain)).toEqual(expected);
        const inMemory = plain.map((v) => {
          const copy = memory.float32(length);
          copy.set(v);
          return copy;
        });
        expect(sumsOfSquares(inMemory)).toEqual(expected);
        // Views at an offset that is not 16-byte aligned, and mixed with vectors living elsewhere.
        const shifted = plain.map((v, k) => (k % 2 === 0 ? v.subarray(1) : inMemory[k].subarray(1)));
        expect(sumsOfSquares(shifted)).toEqual(shifted.map(sumOfSquaresJs));
      }),
      { numRuns: 15 },
    );
  });

  it('sums of squares: 8 lanes are within rounding of the exact sum, and a short vector is the sequential sum', () => {
    const [v] = vectors(1, 100_003, 7, 3);
    // Exact: each x² is exact in float64; sum them as BigInt multiples of 2^-60 (|x| ≤ 3, x = m·2^-23·…).
    const SCALE = 2n ** 60n;
    let exact = 0n;
    for (const x of v) exact += BigInt(Math.round(x * x * 2 ** 60));
    const exactValue = Number(exact) / Number(SCALE);
    expect(Math.abs(sumsOfSquares([v])[0] - exactValue) / exactValue).toBeLessThan(1e-12);
    const short = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    let sequential = 0;
    for (const x of short) sequential += x * x;
    expect(sumOfSquaresJs(short)).toBe(sequential);
  });

  it('sums of squares over several chunks: chunk sums added in order, within rounding of one 8-lane pass', () => {
    const length = 3 * SQUARE_CHUNK + 5;
    const [v] = vectors(1, length, 3, 2);
    const chunked = sumOfSquaresJs(v);
    let byChunk = 0;
    for (let c = 0; c < 3; c++)
      byChunk += sumOfSquaresJs(v.subarray(c * SQUARE_CHUNK, (c + 1) * SQUARE_CHUNK));
    let tail = 0;
    for (let i = 3 * SQUARE_CHUNK; i < length; i++) tail += v[i] * v[i];
    expect(chunked).toBe(byChunk + tail);
    let sequential = 0;
    for (const x of v) sequential += x * x;
    expect(Math.abs(chunked - sequential) / sequential).toBeLessThan(1e-12);
    expect(sumsOfSquares([v])).toEqual([chunked]);
  });

  it('sums of squares are finite exactly when every value is (validateRound’s check)', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 5, 4095, 9999]) {
        const [v] = vectors(1, 10_000, at + 1);
        v[at] = bad;
        const extreme = new Float32Array(10_000).fill(3.4e38);
        const [s, big] = sumsOfSquares([v, extreme]);
        expect(Number.isFinite(s)).toBe(false);
        expect(Number.isFinite(big)).toBe(true);
      }
    }
  });

  it('clipped sums: the same bits as adding fround(scale·delta) update after update', () => {
    const memory = KernelMemory.create()!;
    fc.assert(
      fc.property(
        lengthArb,
        fc.integer({ min: 1, max: 19 }),
        fc.integer(),
        // Scale 1 takes the kernel's unscaled branch; 1 − 2⁻⁵³ (just under) must still round x·scale.
        fc.array(
          fc.oneof(fc.constant(1), fc.constant(1 - 2 ** -53), fc.double({ min: 1e-6, max: 1, noNaN: true })),
          {
            minLength: 19,
            maxLength: 19,
          },
        ),
        (length, count, seed, allScales) => {
          const deltas = vectors(count, length, seed, 50);
          const scales = allScales.slice(0, count);
          const expected = new Float64Array(length);
          deltas.forEach((d, k) => scaledAddJs(expected, d, scales[k]));
          const out = new Float64Array(length).fill(123); // overwritten, not added to
          scaledSumInto(out, deltas, scales);
          expect(bits64(out)).toEqual(bits64(expected));
          const inMemory = deltas.map((d) => {
            const copy = memory.float32(length);
            copy.set(d);
            return copy;
          });
          const out2 = memory.float64(length);
          scaledSumInto(out2, inMemory, scales);
          expect(bits64(out2)).toEqual(bits64(expected));
        },
      ),
      { numRuns: 15 },
    );
  });

  it('modular sums and mask removal: the same values as the JavaScript loops, with int32 wrap-around', () => {
    const memory = KernelMemory.create()!;
    fc.assert(
      fc.property(lengthArb, fc.integer({ min: 1, max: 12 }), fc.integer(), (length, count, seed) => {
        const xs = int32s(count, length, seed);
        const expected = new Int32Array(length);
        for (const x of xs) addModularJs(expected, x, 1);
        const out = new Int32Array(length).fill(9);
        sumModularInto(out, xs);
        expect(out).toEqual(expected);
        const inMemory = memory.int32(length);
        sumModularInto(inMemory, xs);
        expect(inMemory).toEqual(expected);
        addModular(inMemory, xs[0], -1);
        addModular(out, xs[0], -1);
        addModularJs(expected, xs[0], -1);
        expect(inMemory).toEqual(expected);
        expect(out).toEqual(expected);
        addModular(out, xs[0], 1);
        addModularJs(expected, xs[0], 1);
        expect(out).toEqual(expected);
      }),
      { numRuns: 15 },
    );
  });

  it('noisy average: the bits of fround((sum + std·noise) / m) and its 8-lane sum of squares', () => {
    fc.assert(
      fc.property(
        lengthArb,
        fc.integer(),
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        (length, seed, std, m) => {
          const [a, b] = vectors(2, length, seed, 40);
          const sum = Float64Array.from(a, (x, i) => x * 1.000001 + i * 1e-9);
          const noise = Float64Array.from(b);
          const expected = new Float32Array(length);
          const expectedSquares = noisyAverageJs(expected, sum, noise, std, m);
          const out = new Float32Array(length).fill(7);
          const squares = noisyAverageInto(out, sum, noise, std, m);
          expect(Array.from(new Uint32Array(out.buffer))).toEqual(
            Array.from(new Uint32Array(expected.buffer)),
          );
          expect(squares).toBe(expectedSquares);
          expect(expectedSquares).toBe(sumOfSquaresJs(expected));
        },
      ),
      { numRuns: 20 },
    );
    // In kernel memory (DP-FedAvg's work areas): the SIMD kernel in place, the same bits.
    const memory = KernelMemory.create()!;
    for (const length of [WASM_MIN_LENGTH, WASM_MIN_LENGTH + 3, 2 * SQUARE_CHUNK + 6]) {
      const [a, b] = vectors(2, length, length, 40);
      const sum = memory.float64(length);
      sum.set(Float64Array.from(a, (x, i) => x * 1.000001 + i * 1e-9));
      const noise = memory.float64(length);
      noise.set(b);
      const expected = new Float32Array(length);
      const expectedSquares = noisyAverageJs(expected, sum, noise, 1.7, 31);
      const out = memory.float32(length).fill(7);
      expect(noisyAverageInto(out, sum, noise, 1.7, 31)).toBe(expectedSquares);
      expect(Array.from(new Uint32Array(out.buffer, out.byteOffset, length))).toEqual(
        Array.from(new Uint32Array(expected.buffer)),
      );
    }
    // Longer than one squares chunk: the squares must follow sumOfSquaresJs's chunking (a per-tile
    // SIMD version of this step summed the lanes across chunks and missed it in the last bits).
    const long = 3 * SQUARE_CHUNK + 13;
    const sum = Float64Array.from({ length: long }, (_, i) => Math.sin(i) * 30);
    const noise = Float64Array.from({ length: long }, (_, i) => Math.cos(i * 1.3));
    const expected = new Float32Array(long);
    const longOut = new Float32Array(long);
    expect(noisyAverageInto(longOut, sum, noise, 1.1, 30)).toBe(
      noisyAverageJs(expected, sum, noise, 1.1, 30),
    );
    expect(longOut).toEqual(expected);
    // A float32 overflow (huge sum or noise) gives an infinite square sum: the caller's finiteness check.
    const out = new Float32Array(1024);
    const squares = noisyAverageInto(out, new Float64Array(1024).fill(1e39), new Float64Array(1024), 1, 1);
    expect(out[0]).toBe(Infinity);
    expect(squares).toBe(Infinity);
  });

  it('server step on one update: the bits of fround(global + ((0 + w·x) / total)·eta), −0 and eta = 1 included', () => {
    fc.assert(
      fc.property(
        lengthArb,
        fc.integer(),
        fc.constantFrom(1, 0.5, 1.7),
        fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 300, noNaN: true })),
        fc.constantFrom(1, 1.3, 0.01),
        (length, seed, w, total, eta) => {
          const [g, x] = vectors(2, length, seed, 3);
          x[0] = -0;
          g[0] = -0;
          const expected = new Float32Array(length);
          stepOneJs(expected, g, x, w, total, eta);
          const out = new Float32Array(length).fill(5);
          stepOneInto(out, g, x, w, total, eta);
          expect(Array.from(new Uint32Array(out.buffer))).toEqual(
            Array.from(new Uint32Array(expected.buffer)),
          );
          // eta = 1 is the plain global + (0 + w·x)/total.
          if (eta === 1)
            for (let i = 0; i < length; i++) expect(out[i]).toBe(Math.fround(g[i] + (0 + w * x[i]) / total));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('server step with w = total = eta = 1 (DP-FedAvg’s): stepOneJs’s bits, −0 included', () => {
    for (const length of [3, WASM_MIN_LENGTH + 1, TILE + 5]) {
      const [g, x] = vectors(2, length, length, 3);
      x[0] = -0;
      g[0] = -0;
      g[1] = -0;
      x[1] = 0;
      const expected = new Float32Array(length);
      stepOneJs(expected, g, x, 1, 1, 1);
      const out = new Float32Array(length).fill(5);
      stepOneInto(out, g, x, 1, 1, 1);
      expect(Array.from(new Uint32Array(out.buffer))).toEqual(Array.from(new Uint32Array(expected.buffer)));
      expect(Object.is(out[0], 0)).toBe(true); // −0 + (0 + −0) = +0
    }
  });

  it('a prepared weights array is zeros, handed out once, and only for its length', () => {
    prepareFreshFloat32(5000);
    const first = freshFloat32(5000);
    expect(first.length).toBe(5000);
    expect(first.every((x) => x === 0)).toBe(true);
    first.fill(3);
    const second = freshFloat32(5000); // not the same array again
    expect(second).not.toBe(first);
    expect(second.every((x) => x === 0)).toBe(true);
    prepareFreshFloat32(5000);
    const other = freshFloat32(4999); // another length: a fresh array, and the prepared one is dropped
    expect(other.length).toBe(4999);
    expect(freshFloat32(5000)).not.toBe(first);
  });

  it('scaledSumInto runs the caller’s meanwhile work exactly once, and the sum is unchanged by it', () => {
    const memory = KernelMemory.create()!;
    const length = 3 * TILE + 2;
    const deltas = vectors(9, length, 77, 2).map((d) => {
      const copy = memory.float32(length);
      copy.set(d);
      return copy;
    });
    const scales = deltas.map((_, k) => (k % 3 === 0 ? 1 : 0.3));
    const expected = new Float64Array(length);
    deltas.forEach((d, k) => scaledAddJs(expected, d, scales[k]));
    for (const out of [memory.float64(length), new Float64Array(length)]) {
      let calls = 0;
      scaledSumInto(out, deltas, scales, () => calls++);
      expect(calls).toBe(1);
      expect(bits64(out)).toEqual(bits64(expected));
    }
  });

  it('refuses vectors of the wrong length', () => {
    expect(() =>
      noisyAverageInto(new Float32Array(600), new Float64Array(600), new Float64Array(599), 1, 1),
    ).toThrow(/600 values/);
    expect(() => scaledSumInto(new Float64Array(600), [new Float32Array(599)], [1])).toThrow(/600 values/);
    expect(() => sumModularInto(new Int32Array(4), [new Int32Array(5)])).toThrow(/4 values/);
    expect(() => addModular(new Int32Array(4), new Int32Array(3), 1)).toThrow(/3 values, expected 4/);
  });

  it('kernel memory keeps views valid when it grows, and refuses more than 4 GiB', () => {
    const memory = KernelMemory.create()!;
    const first = memory.float32(1000);
    first.fill(2);
    memory.float64(2_000_000); // grows the memory
    expect(first[999]).toBe(2);
    expect(sumsOfSquares([first, memory.float32(1000).fill(1)])).toEqual([4000, 1000]);
    expect(() => memory.float64(2 ** 29)).toThrow(/limited to 4 GiB/);
  });
});
