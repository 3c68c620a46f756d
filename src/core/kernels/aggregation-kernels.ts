import { instantiateKernels, MAX_PAGES, STREAM_COUNTS, type KernelExports } from './aggregation-wasm';

/**
 * The inner loops of aggregation: sums of squares (norms), clipped float64 sums and modular int32
 * sums. Each has one definition of its result, the plain JavaScript below (`…Js`), and a
 * WebAssembly SIMD implementation (aggregation-wasm.ts) that computes the same bits faster; the
 * JavaScript runs where WebAssembly SIMD is missing and for short vectors.
 *
 * Why the sum of squares has 8 lanes: with one float64 accumulator the loop waits on each add's
 * latency and runs at a fraction of memory speed. Lane j sums the squares of x[j], x[j+8],
 * x[j+16], …; the lanes are then added pairwise and the last length % 8 squares in sequence
 * (combineLanes). A vector shorter than 8 gives the plain sequential sum. The value differs from a
 * one-accumulator sum only in rounding (relative error ≤ n·2⁻⁵³ either way).
 *
 * Vectors that live in a KernelMemory are read where they are; any other Float32Array is copied
 * through a small staging area in cache-sized chunks (one extra read, no allocation per update).
 */

export const SQUARE_LANES = 8;
/** Below this many values the JavaScript loops run: setting up a kernel call would not pay. */
export const WASM_MIN_LENGTH = 512;
/** Coordinates per tile: the tile of the float64 sum (64 KiB) stays in cache while every update's slice is added. */
export const TILE = 8192;
const MAX_STREAMS = STREAM_COUNTS[0];

/** ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) + tail: the one association order of a sum of squares. */
export function combineLanes(l: ArrayLike<number>, tail: number): number {
  return l[0] + l[1] + (l[2] + l[3]) + (l[4] + l[5] + (l[6] + l[7])) + tail;
}

/** Σ x² in float64 in 8 lanes (see the file comment): the reference definition. */
export function sumOfSquaresJs(v: ArrayLike<number>): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  const n = v.length - (v.length % SQUARE_LANES);
  let i = 0;
  for (; i < n; i += SQUARE_LANES) {
    s0 += v[i] * v[i];
    s1 += v[i + 1] * v[i + 1];
    s2 += v[i + 2] * v[i + 2];
    s3 += v[i + 3] * v[i + 3];
    s4 += v[i + 4] * v[i + 4];
    s5 += v[i + 5] * v[i + 5];
    s6 += v[i + 6] * v[i + 6];
    s7 += v[i + 7] * v[i + 7];
  }
  let tail = 0;
  for (; i < v.length; i++) tail += v[i] * v[i];
  return combineLanes([s0, s1, s2, s3, s4, s5, s6, s7], tail);
}

/** sum[i] += fround(delta[i] · scale) for i in [from, to): the reference of the clipped sum. */
export function scaledAddJs(
  sum: Float64Array,
  delta: Float32Array,
  scale: number,
  from = 0,
  to = delta.length,
): void {
  for (let i = from; i < to; i++) sum[i] += Math.fround(delta[i] * scale);
}

/** target[i] = target[i] ± v[i] mod 2^32 for i in [from, to): the reference of the modular sum. */
export function addModularJs(target: Int32Array, v: Int32Array, sign: 1 | -1, from = 0, to = v.length): void {
  if (sign === 1) for (let i = from; i < to; i++) target[i] = (target[i] + v[i]) | 0;
  else for (let i = from; i < to; i++) target[i] = (target[i] - v[i]) | 0;
}

/**
 * out[i] = fround((sum[i] + std · noise[i]) / m), and Σ out[i]² in sumOfSquaresJs's order: the
 * reference of DP-FedAvg's last pass (noise on the clipped sum, ÷ m, to float32, the average's
 * squared norm for the server step and the finiteness check).
 */
export function noisyAverageJs(
  out: Float32Array,
  sum: Float64Array,
  noise: Float64Array,
  std: number,
  m: number,
): number {
  for (let i = 0; i < out.length; i++) out[i] = Math.fround((sum[i] + std * noise[i]) / m);
  return sumOfSquaresJs(out);
}

const PAGE = 65536;
const ALIGN = 16;
// Scratch at the start of every KernelMemory: lane state of 8 streams, one float64 tile, and
// 8 staging tiles of 32-bit values for inputs that live elsewhere.
const STATE_BYTE = 0;
const TILE_BYTE = STATE_BYTE + MAX_STREAMS * 64;
const STAGING_BYTE = TILE_BYTE + TILE * 8;
const SCRATCH_BYTES = STAGING_BYTE + MAX_STREAMS * TILE * 4;

type View = Float32Array | Float64Array | Int32Array;

// Which KernelMemory a buffer belongs to, so a vector allocated in one is read there in place.
const owners = new WeakMap<ArrayBufferLike, KernelMemory>();

/**
 * A shared WebAssembly memory with the kernels bound to it, and a bump allocator: vectors
 * allocated here (an update decoded straight into it, a masked update, a sum) are read by the
 * kernels in place. Shared, so growing it never detaches a view handed out earlier. Memory is
 * returned when the KernelMemory is no longer referenced; there is no free.
 */
export class KernelMemory {
  private readonly memory: WebAssembly.Memory;
  readonly kernels: KernelExports;
  private top = SCRATCH_BYTES;

  private constructor(memory: WebAssembly.Memory, kernels: KernelExports) {
    this.memory = memory;
    this.kernels = kernels;
    owners.set(memory.buffer, this);
  }

  /** A fresh memory, or null where the engine lacks WebAssembly SIMD or shared memory. */
  static create(initialBytes = 0): KernelMemory | null {
    if (typeof WebAssembly !== 'object' || typeof SharedArrayBuffer !== 'function') return null;
    const pages = Math.ceil((SCRATCH_BYTES + initialBytes) / PAGE);
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    } catch {
      return null;
    }
    const kernels = instantiateKernels(memory);
    return kernels === null ? null : new KernelMemory(memory, kernels);
  }

  /** The current buffer (its length grows with the memory). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  float32(length: number): Float32Array {
    const at = this.allocate(length * 4); // may grow the memory: take the buffer after
    return new Float32Array(this.memory.buffer, at, length);
  }

  float64(length: number): Float64Array {
    const at = this.allocate(length * 8); // may grow the memory: take the buffer after
    return new Float64Array(this.memory.buffer, at, length);
  }

  int32(length: number): Int32Array {
    const at = this.allocate(length * 4); // may grow the memory: take the buffer after
    return new Int32Array(this.memory.buffer, at, length);
  }

  /** Whether `view` lies in this memory (so the kernels can read it in place at its byteOffset). */
  owns(view: View): boolean {
    return owners.get(view.buffer) === this;
  }

  private allocate(bytes: number): number {
    const at = Math.ceil(this.top / ALIGN) * ALIGN;
    const end = at + bytes;
    if (end > MAX_PAGES * PAGE)
      throw new RangeError(`kernel memory is limited to 4 GiB; ${end} bytes were asked for`);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      this.memory.grow(Math.ceil((end - have) / PAGE));
      owners.set(this.memory.buffer, this);
    }
    this.top = end;
    return at;
  }

  private f64(byte: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, byte, length);
  }

  /** The byte address of vector k's values from `from` on: in place, or copied to staging slot `slot`. */
  private address(v: Float32Array | Int32Array, from: number, to: number, slot: number): number {
    if (this.owns(v)) return v.byteOffset + from * 4;
    const byte = STAGING_BYTE + slot * TILE * 4;
    const staging =
      v instanceof Float32Array
        ? new Float32Array(this.memory.buffer, byte, to - from)
        : new Int32Array(this.memory.buffer, byte, to - from);
    staging.set(v.subarray(from, to));
    return byte;
  }

  /** Σ x² of each vector (sumOfSquaresJs's values), up to 8 vectors of one length read at once. */
  sumsOfSquares(vectors: readonly Float32Array[]): number[] {
    const out: number[] = [];
    for (const batch of batches(vectors.length)) {
      const group = vectors.slice(batch.start, batch.start + batch.size);
      const length = group[0].length;
      if (group.some((v) => v.length !== length)) {
        for (const v of group) out.push(this.sumsOfSquares([v])[0]);
        continue;
      }
      const lanes = this.f64(STATE_BYTE, SQUARE_LANES * batch.size);
      lanes.fill(0);
      const whole = length - (length % SQUARE_LANES);
      const kernel = this.kernels[`sumSquares${batch.size}`];
      const inPlace = group.every((v) => this.owns(v));
      const step = inPlace ? Math.max(whole, 1) : TILE;
      for (let from = 0; from < whole; from += step) {
        const to = Math.min(whole, from + step);
        const pointers = group.map((v, k) => this.address(v, from, to, k));
        kernel(STATE_BYTE, (to - from) / SQUARE_LANES, ...pointers);
      }
      group.forEach((v, k) => {
        let tail = 0;
        for (let i = whole; i < length; i++) tail += v[i] * v[i];
        out.push(combineLanes(lanes.subarray(SQUARE_LANES * k, SQUARE_LANES * (k + 1)), tail));
      });
    }
    return out;
  }

  /**
   * out[i] = Σ_k fround(scales[k] · deltas[k][i]) in float64, k in the order given (scaledAddJs
   * applied to a zero sum, update after update). Tile by tile: each tile of the sum stays in cache
   * while every update's slice is added, so each update is read once and out written once.
   */
  scaledSumInto(out: Float64Array, deltas: readonly Float32Array[], scales: readonly number[]): void {
    const length = out.length;
    out.fill(0);
    const tile = this.f64(TILE_BYTE, TILE);
    for (let from = 0; from < length; from += TILE) {
      const to = Math.min(length, from + TILE);
      const groups = (to - from) >>> 2;
      const vectorTo = from + 4 * groups;
      tile.fill(0, 0, vectorTo - from);
      for (const batch of batches(deltas.length)) {
        const pointers: number[] = [];
        for (let j = 0; j < batch.size; j++)
          pointers.push(this.address(deltas[batch.start + j], from, vectorTo, j));
        const batchScales = scales.slice(batch.start, batch.start + batch.size);
        this.kernels[`scaledAdd${batch.size}`](TILE_BYTE, groups, ...batchScales, ...pointers);
      }
      out.set(tile.subarray(0, vectorTo - from), from);
      for (let k = 0; k < deltas.length; k++) scaledAddJs(out, deltas[k], scales[k], vectorTo, to);
    }
  }

  /**
   * noisyAverageJs's values, tile by tile through the scratch area (sum and noise staged, the
   * float32 tile squared while it is in cache and copied out): one read of sum and noise, one
   * write of out.
   */
  noisyAverageInto(
    out: Float32Array,
    sum: Float64Array,
    noise: Float64Array,
    std: number,
    m: number,
  ): number {
    const length = out.length;
    const buffer = this.memory.buffer;
    const sumTile = new Float64Array(buffer, TILE_BYTE, TILE);
    const noiseByte = STAGING_BYTE; // two 32 KiB staging slots: TILE float64
    const outByte = STAGING_BYTE + 2 * TILE * 4;
    const noiseTile = new Float64Array(buffer, noiseByte, TILE);
    const outTile = new Float32Array(buffer, outByte, TILE);
    const lanes = this.f64(STATE_BYTE, SQUARE_LANES);
    lanes.fill(0);
    const whole = length - (length % SQUARE_LANES);
    for (let from = 0; from < length; from += TILE) {
      const to = Math.min(length, from + TILE);
      const groups = (to - from) >>> 2;
      sumTile.set(sum.subarray(from, from + 4 * groups));
      noiseTile.set(noise.subarray(from, from + 4 * groups));
      this.kernels.noisyAverage(TILE_BYTE, noiseByte, outByte, groups, std, m);
      for (let i = from + 4 * groups; i < to; i++)
        outTile[i - from] = Math.fround((sum[i] + std * noise[i]) / m);
      const squared = Math.min(to, whole) - from;
      if (squared > 0) this.kernels.sumSquares1(STATE_BYTE, squared / SQUARE_LANES, outByte);
      out.set(outTile.subarray(0, to - from), from);
    }
    let tail = 0;
    for (let i = whole; i < length; i++) tail += out[i] * out[i];
    return combineLanes(lanes, tail);
  }

  /** target[i] = Σ_k vectors[k][i] mod 2^32 (addModularJs's values; the order does not matter). */
  sumModularInto(target: Int32Array, vectors: readonly Int32Array[]): void {
    const length = target.length;
    target.fill(0);
    const inPlace = this.owns(target);
    const tile = new Int32Array(this.memory.buffer, TILE_BYTE, TILE);
    for (let from = 0; from < length; from += TILE) {
      const to = Math.min(length, from + TILE);
      const groups = (to - from) >>> 2;
      const vectorTo = from + 4 * groups;
      const targetByte = inPlace ? target.byteOffset + from * 4 : TILE_BYTE;
      if (!inPlace) tile.fill(0, 0, vectorTo - from);
      for (const batch of batches(vectors.length)) {
        const pointers: number[] = [];
        for (let j = 0; j < batch.size; j++)
          pointers.push(this.address(vectors[batch.start + j], from, vectorTo, j));
        this.kernels[`addInt32${batch.size}`](targetByte, groups, ...pointers);
      }
      if (!inPlace) target.set(tile.subarray(0, vectorTo - from), from);
      for (const v of vectors) addModularJs(target, v, 1, vectorTo, to);
    }
  }

  /** target[i] ±= v[i] mod 2^32 (adding or removing one mask), in place when target is in this memory. */
  addModular(target: Int32Array, v: Int32Array, sign: 1 | -1): void {
    const length = target.length;
    const tile = new Int32Array(this.memory.buffer, TILE_BYTE, TILE);
    const inPlace = this.owns(target);
    for (let from = 0; from < length; from += TILE) {
      const to = Math.min(length, from + TILE);
      const groups = (to - from) >>> 2;
      const vectorTo = from + 4 * groups;
      if (!inPlace) tile.set(target.subarray(from, vectorTo));
      const targetByte = inPlace ? target.byteOffset + from * 4 : TILE_BYTE;
      const kernel = sign === 1 ? this.kernels.addInt321 : this.kernels.subInt32;
      kernel(targetByte, groups, this.address(v, from, vectorTo, 0));
      if (!inPlace) target.set(tile.subarray(0, vectorTo - from), from);
      addModularJs(target, v, sign, vectorTo, to);
    }
  }
}

/** Consecutive batches of at most 8 indices, each of a size a kernel exists for (8, 4, 2, 1). */
function batches(count: number): Array<{ start: number; size: (typeof STREAM_COUNTS)[number] }> {
  const out: Array<{ start: number; size: (typeof STREAM_COUNTS)[number] }> = [];
  let start = 0;
  for (const size of STREAM_COUNTS) {
    while (count - start >= size) {
      out.push({ start, size });
      start += size;
    }
  }
  return out;
}

let scratch: KernelMemory | null | undefined;

/** The process's kernel memory for inputs that live elsewhere (calls are synchronous, so one suffices). */
export function scratchMemory(): KernelMemory | null {
  if (scratch === undefined) scratch = KernelMemory.create();
  return scratch;
}

/** The KernelMemory every vector lives in, else the scratch memory (inputs are then copied through it). */
function memoryFor(vectors: readonly View[]): KernelMemory | null {
  const first = vectors.length > 0 ? owners.get(vectors[0].buffer) : undefined;
  if (first && vectors.every((v) => first.owns(v))) return first;
  return scratchMemory();
}

/** Σ x² of one vector (sumOfSquaresJs's value); float64 vectors take the JavaScript loop. */
export function sumOfSquares(v: Float32Array | Float64Array): number {
  return v instanceof Float32Array ? sumsOfSquares([v])[0] : sumOfSquaresJs(v);
}

/** Σ x² of each vector in float64 (sumOfSquaresJs's values), with the SIMD kernels for long vectors. */
export function sumsOfSquares(vectors: readonly Float32Array[]): number[] {
  const long = vectors.length > 0 && vectors.every((v) => v.length >= WASM_MIN_LENGTH);
  const memory = long ? memoryFor(vectors) : null;
  return memory === null ? vectors.map(sumOfSquaresJs) : memory.sumsOfSquares(vectors);
}

/** out = Σ_k fround(scales[k] · deltas[k]) in float64, k in order (scaledAddJs's values). */
export function scaledSumInto(
  out: Float64Array,
  deltas: readonly Float32Array[],
  scales: readonly number[],
): void {
  if (deltas.some((d) => d.length !== out.length))
    throw new RangeError(`every delta must have ${out.length} values`);
  const memory = out.length >= WASM_MIN_LENGTH && deltas.length > 0 ? memoryFor(deltas) : null;
  if (memory !== null) return memory.scaledSumInto(out, deltas, scales);
  out.fill(0);
  for (let k = 0; k < deltas.length; k++) scaledAddJs(out, deltas[k], scales[k]);
}

/** noisyAverageJs's values and result, with the SIMD kernels for long vectors. */
export function noisyAverageInto(
  out: Float32Array,
  sum: Float64Array,
  noise: Float64Array,
  std: number,
  m: number,
): number {
  if (sum.length !== out.length || noise.length !== out.length)
    throw new RangeError(`sum and noise must have ${out.length} values`);
  const memory = out.length >= WASM_MIN_LENGTH ? scratchMemory() : null;
  if (memory === null) return noisyAverageJs(out, sum, noise, std, m);
  return memory.noisyAverageInto(out, sum, noise, std, m);
}

/** target = Σ_k vectors[k] mod 2^32 (addModularJs's values). */
export function sumModularInto(target: Int32Array, vectors: readonly Int32Array[]): void {
  if (vectors.some((v) => v.length !== target.length))
    throw new RangeError(`every vector must have ${target.length} values`);
  // The inputs decide where the kernels run (read in place there); the target is tiled through.
  const memory = target.length >= WASM_MIN_LENGTH && vectors.length > 0 ? memoryFor(vectors) : null;
  if (memory !== null) return memory.sumModularInto(target, vectors);
  target.fill(0);
  for (const v of vectors) addModularJs(target, v, 1);
}

/** target ±= v mod 2^32 in place (addModularJs's values). */
export function addModular(target: Int32Array, v: Int32Array, sign: 1 | -1): void {
  if (v.length !== target.length)
    throw new RangeError(`vector has ${v.length} values, expected ${target.length}`);
  const memory = target.length >= WASM_MIN_LENGTH ? memoryFor([target, v]) : null;
  if (memory !== null) return memory.addModular(target, v, sign);
  addModularJs(target, v, sign);
}
