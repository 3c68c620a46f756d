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

/**
 * A second thread for the kernels (the runtime's, src/runtime/kernel-helper.ts; src/core starts
 * no threads). `share` runs the items 0 … count−1 of `task` — each item a fixed sequence of kernel
 * calls on `memory`, see runSharedItem — claimed one at a time by this thread (runHere) and by the
 * helper, and returns once every item is done. Which thread ran an item never changes its bits:
 * an item writes only its own outputs, with the same calls in the same order either way.
 */
export interface KernelHelper {
  share(memory: KernelMemory, task: SharedTask, runHere: (item: number) => void): void;
}

/** Items of a shared task: a chunk of a batch of norms (kind 'squares') or a tile of the clipped sum ('scaledSum'). */
export interface SharedTask {
  kind: 'squares' | 'scaledSum';
  count: number;
  /** [start, size] of each batch of at most 8 vectors. */
  batches: ReadonlyArray<{ start: number; size: number }>;
  /** Byte address of every vector's values. */
  pointers: readonly number[];
  /** scaledSum: the scale of every vector. */
  scales: readonly number[];
  /** squares: 8-value blocks per chunk (SQUARE_CHUNK / 8); scaledSum: 4-value groups per tile (even). */
  steps: number;
  /** squares: 8-value blocks per vector (the last chunk may be shorter); scaledSum: steps · count. */
  totalSteps: number;
  /** squares: lane slots, vector k of chunk c at outByte + 64·(c·K + k); scaledSum: the float64 sum. */
  outByte: number;
}

/** The most vectors a shared task carries (above, the calling thread works alone). */
export const SHARED_MAX_VECTORS = 1024;

let helper: KernelHelper | null = null;

/** Installs (or removes, with null) the second thread the kernels split long work with. */
export function useKernelHelper(next: KernelHelper | null): void {
  helper = next;
}

/**
 * One item of a shared task, as either thread runs it (the helper's copy is in
 * src/runtime/kernel-helper.ts, pinned equal by the tests): squares item i is chunk ⌊i / B⌋ of
 * batch i mod B (B batches), its lane sums into that chunk's slots; scaledSum item t zeroes tile t
 * of the sum and adds every batch into it in order.
 */
export function runSharedItem(
  kernels: KernelExports,
  buffer: ArrayBufferLike,
  task: SharedTask,
  item: number,
): void {
  if (task.kind === 'squares') {
    const { start, size } = task.batches[item % task.batches.length];
    const chunk = Math.floor(item / task.batches.length);
    const steps = Math.min(task.steps, task.totalSteps - chunk * task.steps);
    const state = task.outByte + 64 * (chunk * task.pointers.length + start);
    const offset = chunk * task.steps * 32; // 8 float32 per step
    const pointers = task.pointers.slice(start, start + size).map((p) => p + offset);
    kernels[`sumSquares${size}`](state, steps, ...pointers);
    return;
  }
  const values = 4 * task.steps;
  const sumByte = task.outByte + item * values * 8;
  new Float64Array(buffer, sumByte, values).fill(0);
  for (const { start, size } of task.batches) {
    const pointers = task.pointers.slice(start, start + size).map((p) => p + item * values * 4);
    kernels[`scaledAdd${size}`](sumByte, task.steps, ...task.scales.slice(start, start + size), ...pointers);
  }
}

/** ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) + tail: the one association order of a sum of squares. */
export function combineLanes(l: ArrayLike<number>, tail: number): number {
  return l[0] + l[1] + (l[2] + l[3]) + (l[4] + l[5] + (l[6] + l[7])) + tail;
}

/**
 * Values per chunk of a sum of squares: each chunk has its own 8 lanes, and the chunks' sums are
 * added in order, so two threads can take chunks of one vector (a vector of at most this many
 * values is exactly the 8-lane sum of before).
 */
export const SQUARE_CHUNK = 65536;

/**
 * Σ x² in float64 (see the file comment): the reference definition. Per chunk of SQUARE_CHUNK
 * values, 8 lanes combined by combineLanes; the chunk sums added in order; then the length % 8
 * tail in sequence.
 */
export function sumOfSquaresJs(v: ArrayLike<number>): number {
  const whole = v.length - (v.length % SQUARE_LANES);
  let total = 0;
  for (let from = 0; from < whole; from += SQUARE_CHUNK) {
    const to = Math.min(whole, from + SQUARE_CHUNK);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (let i = from; i < to; i += SQUARE_LANES) {
      s0 += v[i] * v[i];
      s1 += v[i + 1] * v[i + 1];
      s2 += v[i + 2] * v[i + 2];
      s3 += v[i + 3] * v[i + 3];
      s4 += v[i + 4] * v[i + 4];
      s5 += v[i + 5] * v[i + 5];
      s6 += v[i + 6] * v[i + 6];
      s7 += v[i + 7] * v[i + 7];
    }
    const partial = combineLanes([s0, s1, s2, s3, s4, s5, s6, s7], 0);
    total = from === 0 ? partial : total + partial;
  }
  let tail = 0;
  for (let i = whole; i < v.length; i++) tail += v[i] * v[i];
  return total + tail;
}

/** Σ x² of v[whole …] in sequence (the length % 8 values after the last full block). */
function squaresOfTail(v: Float32Array, whole: number): number {
  let tail = 0;
  for (let i = whole; i < v.length; i++) tail += v[i] * v[i];
  return tail;
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

/**
 * out[i] = fround(global[i] + ((0 + w·x[i]) / total)·eta): FedAvg's server step on a single update
 * (the DP wrapper's noisy average), the reference of the stepOne kernel. `0 +` turns −0 into +0 as
 * the float64 sum of the general case does; ·1 is exact, so eta = 1 is global + (0 + w·x)/total.
 */
export function stepOneJs(
  out: Float32Array,
  global: Float32Array,
  x: Float32Array,
  w: number,
  total: number,
  eta: number,
): void {
  for (let i = 0; i < out.length; i++) out[i] = global[i] + ((0 + w * x[i]) / total) * eta;
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
type WorkspaceSlot = 'sum' | 'norms' | 'noise' | 'average';

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
  private readonly workspaces = new Map<WorkspaceSlot, { at: number; bytes: number }>();

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

  /** The WebAssembly memory itself (a helper thread binds its own kernel instance to it). */
  get wasmMemory(): WebAssembly.Memory {
    return this.memory;
  }

  /**
   * A float64 work area reused by every call with the same slot ('sum': a round's clipped sum;
   * 'norms': the lane states of its norms; 'noise': its Gaussian noise): valid until the next
   * call for that slot on this memory, so never hand it out of the aggregation that asked for it.
   * Reused because a fresh typed array of P = 10^6 float64 costs more in page faults on first
   * touch (≈ 7 ms on the bench machine) than the pass that fills it.
   */
  workspaceFloat64(slot: WorkspaceSlot, length: number): Float64Array {
    const at = this.workspace(slot, length * 8); // may grow the memory: take the buffer after
    return new Float64Array(this.memory.buffer, at, length);
  }

  /** workspaceFloat64's float32 twin ('average': DP-FedAvg's noisy average). */
  workspaceFloat32(slot: WorkspaceSlot, length: number): Float32Array {
    const at = this.workspace(slot, length * 4); // may grow the memory: take the buffer after
    return new Float32Array(this.memory.buffer, at, length);
  }

  private workspace(slot: WorkspaceSlot, bytes: number): number {
    let area = this.workspaces.get(slot);
    if (area === undefined || area.bytes < bytes) {
      area = { at: this.allocate(bytes), bytes };
      this.workspaces.set(slot, area);
    }
    return area.at;
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
    const shared = this.sharedSquares(vectors);
    if (shared !== null) return shared;
    const out: number[] = [];
    for (const batch of batches(vectors.length)) {
      const group = vectors.slice(batch.start, batch.start + batch.size);
      const length = group[0].length;
      if (group.some((v) => v.length !== length)) {
        for (const v of group) out.push(this.sumsOfSquares([v])[0]);
        continue;
      }
      const lanes = this.f64(STATE_BYTE, SQUARE_LANES * batch.size);
      const whole = length - (length % SQUARE_LANES);
      const kernel = this.kernels[`sumSquares${batch.size}`];
      const inPlace = group.every((v) => this.owns(v));
      const totals = new Array<number>(batch.size).fill(0);
      for (let chunk = 0; chunk < whole; chunk += SQUARE_CHUNK) {
        const chunkEnd = Math.min(whole, chunk + SQUARE_CHUNK);
        lanes.fill(0);
        const step = inPlace ? chunkEnd - chunk : TILE;
        for (let from = chunk; from < chunkEnd; from += step) {
          const to = Math.min(chunkEnd, from + step);
          const pointers = group.map((v, k) => this.address(v, from, to, k));
          kernel(STATE_BYTE, (to - from) / SQUARE_LANES, ...pointers);
        }
        for (let k = 0; k < batch.size; k++) {
          const partial = combineLanes(lanes.subarray(SQUARE_LANES * k, SQUARE_LANES * (k + 1)), 0);
          totals[k] = chunk === 0 ? partial : totals[k] + partial;
        }
      }
      group.forEach((v, k) => out.push(totals[k] + squaresOfTail(v, whole)));
    }
    return out;
  }

  /**
   * The norms' batches split with the helper thread: possible when every vector lies here, all of
   * one length, and there is more than one batch. Each batch's lanes go to its own slot of the
   * workspace, so the result does not depend on who ran it.
   */
  private sharedSquares(vectors: readonly Float32Array[]): number[] | null {
    const length = vectors[0].length;
    const list = batches(vectors.length);
    if (
      helper === null ||
      list.length * Math.ceil(length / SQUARE_CHUNK) < 2 ||
      vectors.length > SHARED_MAX_VECTORS ||
      !vectors.every((v) => v.length === length && this.owns(v))
    )
      return null;
    const whole = length - (length % SQUARE_LANES);
    const chunks = Math.ceil(whole / SQUARE_CHUNK);
    if (chunks === 0) return null;
    // Lane slot of vector k in chunk c: 64 bytes at 64·(c·K + k), so a batch's S slots are adjacent.
    const lanes = this.workspaceFloat64('norms', SQUARE_LANES * vectors.length * chunks);
    lanes.fill(0);
    const task: SharedTask = {
      kind: 'squares',
      count: list.length * chunks,
      batches: list,
      pointers: vectors.map((v) => v.byteOffset),
      scales: [],
      steps: SQUARE_CHUNK / SQUARE_LANES,
      totalSteps: whole / SQUARE_LANES,
      outByte: lanes.byteOffset,
    };
    helper.share(this, task, (item) => runSharedItem(this.kernels, this.memory.buffer, task, item));
    return vectors.map((v, k) => {
      let total = 0;
      for (let c = 0; c < chunks; c++) {
        const at = SQUARE_LANES * (c * vectors.length + k);
        const partial = combineLanes(lanes.subarray(at, at + SQUARE_LANES), 0);
        total = c === 0 ? partial : total + partial;
      }
      return total + squaresOfTail(v, whole);
    });
  }

  /**
   * The clipped sum's whole tiles split with the helper thread, into `out` (which must lie here
   * too: the helper writes its tiles in place); the last, partial tile is this thread's. Null
   * when the split is not possible (then the caller's single-thread loop runs).
   */
  private sharedScaledSum(
    out: Float64Array,
    deltas: readonly Float32Array[],
    scales: readonly number[],
    meanwhile: () => void,
  ): boolean {
    const tiles = Math.floor(out.length / TILE);
    if (helper === null || tiles < 2 || deltas.length > SHARED_MAX_VECTORS || !this.owns(out)) return false;
    if (!deltas.every((d) => this.owns(d))) return false;
    const task: SharedTask = {
      kind: 'scaledSum',
      count: tiles,
      batches: batches(deltas.length),
      pointers: deltas.map((d) => d.byteOffset),
      scales,
      steps: TILE / 4,
      totalSteps: (tiles * TILE) / 4,
      outByte: out.byteOffset,
    };
    // This thread does `meanwhile` once it holds its first item, while the helper takes tiles.
    let pending: (() => void) | null = meanwhile;
    helper.share(this, task, (item) => {
      if (pending !== null) {
        pending = null;
        meanwhile();
      }
      runSharedItem(this.kernels, this.memory.buffer, task, item);
    });
    if (pending !== null) meanwhile(); // the helper took every tile
    const from = tiles * TILE;
    if (from < out.length) this.scaledSumRange(out, deltas, scales, from);
    return true;
  }

  /**
   * out[i] = Σ_k fround(scales[k] · deltas[k][i]) in float64, k in the order given (scaledAddJs
   * applied to a zero sum, update after update). Tile by tile: each tile of the sum stays in cache
   * while every update's slice is added, so each update is read once and out written once.
   */
  scaledSumInto(
    out: Float64Array,
    deltas: readonly Float32Array[],
    scales: readonly number[],
    meanwhile: () => void = () => {},
  ): void {
    if (this.sharedScaledSum(out, deltas, scales, meanwhile)) return;
    meanwhile();
    this.scaledSumRange(out, deltas, scales, 0);
  }

  /** scaledSumInto on out[from …] (from a multiple of TILE), on this thread. */
  private scaledSumRange(
    out: Float64Array,
    deltas: readonly Float32Array[],
    scales: readonly number[],
    start: number,
  ): void {
    const length = out.length;
    out.fill(0, start);
    const tile = this.f64(TILE_BYTE, TILE);
    for (let from = start; from < length; from += TILE) {
      const to = Math.min(length, from + TILE);
      const groups = ((to - from) >>> 3) << 1; // the kernel takes groups of 4 in pairs
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

/** The KernelMemory `view` lies in, or null. */
export function memoryOf(view: View): KernelMemory | null {
  return owners.get(view.buffer) ?? null;
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

/**
 * out = Σ_k fround(scales[k] · deltas[k]) in float64, k in order (scaledAddJs's values).
 * `meanwhile` (work of the caller's that does not touch these arrays) runs on this thread while
 * the helper thread starts on the sum, or first when there is no helper.
 */
export function scaledSumInto(
  out: Float64Array,
  deltas: readonly Float32Array[],
  scales: readonly number[],
  meanwhile: () => void = () => {},
): void {
  if (deltas.some((d) => d.length !== out.length))
    throw new RangeError(`every delta must have ${out.length} values`);
  const memory = out.length >= WASM_MIN_LENGTH && deltas.length > 0 ? memoryFor(deltas) : null;
  if (memory !== null) return memory.scaledSumInto(out, deltas, scales, meanwhile);
  meanwhile();
  out.fill(0);
  for (let k = 0; k < deltas.length; k++) scaledAddJs(out, deltas[k], scales[k]);
}

/** 4 KiB pages, in float32 values: writing one value per page makes the kernel map every page. */
const VALUES_PER_PAGE = 1024;
let prepared: Float32Array | null = null;

/**
 * Allocates the next round's weights array now and touches each of its pages, so that the page
 * faults of first touch (≈ 1.5 ms per 4 MB on the bench machine, more than the server step that
 * fills it) are taken while the helper thread sums, not after. The array is zeros, handed out once
 * by freshFloat32 and never kept here afterwards.
 */
export function prepareFreshFloat32(length: number): void {
  const array = new Float32Array(length);
  for (let i = 0; i < length; i += VALUES_PER_PAGE) array[i] = 0;
  prepared = array;
}

/** A new zero Float32Array of `length`: the prepared one if it has that length (once), else a fresh one. */
export function freshFloat32(length: number): Float32Array {
  const array = prepared;
  prepared = null;
  return array !== null && array.length === length ? array : new Float32Array(length);
}

/**
 * noisyAverageJs's values and result. When sum, noise and out all live in one KernelMemory (the
 * DP-FedAvg workspaces) the average runs on the SIMD noisyAverage kernel in place; otherwise in a
 * plain loop (through the staging tiles the SIMD version measured slower: 3.9 against 2.2 ms at
 * P = 10^6). The squares are a separate sumsOfSquares pass either way (both threads when the
 * helper is installed), so they follow sumOfSquaresJs's chunking exactly.
 */
export function noisyAverageInto(
  out: Float32Array,
  sum: Float64Array,
  noise: Float64Array,
  std: number,
  m: number,
): number {
  if (sum.length !== out.length || noise.length !== out.length)
    throw new RangeError(`sum and noise must have ${out.length} values`);
  const memory = out.length >= WASM_MIN_LENGTH ? memoryOf(out) : null;
  let from = 0;
  if (memory !== null && memory.owns(sum) && memory.owns(noise)) {
    const groups = out.length >>> 2;
    memory.kernels.noisyAverage(sum.byteOffset, noise.byteOffset, out.byteOffset, groups, std, m);
    from = 4 * groups;
  }
  for (let i = from; i < out.length; i++) out[i] = Math.fround((sum[i] + std * noise[i]) / m);
  return sumOfSquares(out);
}

/**
 * stepOneJs's values. The plain loop is the fast one here: its inputs (global weights, the noisy
 * average) are not in kernel memory, and the SIMD kernel through the staging tiles measured
 * slower (6.8 against 5.2 ms for average + step at P = 10^6, same process, bench/ A/B).
 */
export function stepOneInto(
  out: Float32Array,
  global: Float32Array,
  x: Float32Array,
  w: number,
  total: number,
  eta: number,
): void {
  if (global.length !== out.length || x.length !== out.length)
    throw new RangeError(`global and update must have ${out.length} values`);
  if (w === 1 && total === 1 && eta === 1) {
    // DP-FedAvg's step (one noisy average, uniform weight, eta = 1): 1·x, ÷ 1 and ·1 are exact,
    // so stepOneJs's value is global + (0 + x), without the division per value.
    for (let i = 0; i < out.length; i++) out[i] = global[i] + (0 + x[i]);
    return;
  }
  stepOneJs(out, global, x, w, total, eta);
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
