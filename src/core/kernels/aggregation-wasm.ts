import { assembleModule, F64, I32, op, v128, type FunctionSpec } from './wasm-encoding';

const V128 = 0x7b;

/**
 * The WebAssembly SIMD kernels of aggregation, assembled from bytes (wasm-encoding.ts). Each one
 * computes exactly what its JavaScript twin in aggregation-kernels.ts computes, value for value:
 * the SIMD lanes follow the same association order, so results do not depend on which one ran.
 *
 * Each kernel reads S input vectors at once (S = 1, 2, 4, 8). Why: with 4 KiB pages the hardware
 * prefetcher restarts at every page, so one stream reads memory at a third of what the machine can
 * deliver; eight interleaved streams keep enough misses in flight to reach it (measured on the
 * bench machine: 33 ms for 120 MB with one stream, 15 ms with eight, numpy's huge-page sum 13 ms).
 *
 * Pointers are byte offsets into the imported shared memory, 16-byte aligned.
 */

export const STREAM_COUNTS = [8, 4, 2, 1] as const;
export type StreamCount = (typeof STREAM_COUNTS)[number];

const teeLocal = (i: number) => [0x22, i];

/** A counted loop: runs `step` `count` times (count is a local, consumed). */
const loopTimes = (count: number, step: number[]) => [
  ...op.block,
  ...op.localGet(count),
  ...op.i32Eqz,
  ...op.brIf(0),
  ...op.loop,
  ...step,
  ...op.localGet(count),
  ...op.i32Const(1),
  ...op.i32Sub,
  ...teeLocal(count),
  ...op.brIf(0),
  ...op.end,
  ...op.end,
];
const advance = (local: number, bytes: number) => [
  ...op.localGet(local),
  ...op.i32Const(bytes),
  ...op.i32Add,
  ...op.localSet(local),
];

/**
 * sumSquares{S}(state, blocks, p0 … p{S-1}): for each block of 8 float32 of stream k, lane j of
 * stream k's 8 float64 accumulators (4 f64x2 at state + 64·k) gains x[8b + j]²; x² of a float32
 * is exact in float64, so only the additions round, in the order of sumOfSquaresJs.
 */
function sumSquares(S: StreamCount): FunctionSpec {
  const state = 0;
  const blocks = 1;
  const ptr = (k: number) => 2 + k;
  const acc = (k: number, j: number) => 2 + S + 4 * k + j;
  const v = 2 + 5 * S;
  const t = v + 1;
  const body: number[] = [];
  for (let k = 0; k < S; k++)
    for (let j = 0; j < 4; j++)
      body.push(...op.localGet(state), ...v128.load(64 * k + 16 * j), ...op.localSet(acc(k, j)));
  const step: number[] = [];
  for (let k = 0; k < S; k++) {
    for (let half = 0; half < 2; half++) {
      step.push(...op.localGet(ptr(k)), ...v128.load(16 * half), ...op.localSet(v));
      for (const high of [false, true]) {
        const a = acc(k, 2 * half + (high ? 1 : 0));
        step.push(
          ...op.localGet(a),
          ...op.localGet(v),
          ...(high ? [...op.localGet(v), ...v128.highHalfToLow] : []),
          ...v128.f64x2PromoteLowF32x4,
          ...teeLocal(t),
          ...op.localGet(t),
          ...v128.f64x2Mul,
          ...v128.f64x2Add,
          ...op.localSet(a),
        );
      }
    }
  }
  for (let k = 0; k < S; k++) step.push(...advance(ptr(k), 32));
  body.push(...loopTimes(blocks, step));
  for (let k = 0; k < S; k++)
    for (let j = 0; j < 4; j++)
      body.push(...op.localGet(state), ...op.localGet(acc(k, j)), ...v128.store(64 * k + 16 * j));
  return {
    name: `sumSquares${S}`,
    params: [I32, I32, ...new Array<number>(S).fill(I32)],
    results: [],
    locals: [[4 * S + 2, V128]],
    body,
  };
}

/**
 * scaledAdd{S}(sum, groups, scale0 … scale{S-1}, p0 … p{S-1}): for each group of 4 float32,
 * sum[i] += f64(f32(f64(x_k[i]) · scale_k)) for k = 0 … S−1 in that order — the float64 value of
 * Math.fround(x · scale), added in sequence as scaledAddJs adds one update after another.
 * `groups` must be even: two groups (8 values) per iteration, so four float64 chains are in
 * flight (one pair per group would leave the loop waiting on the adds' latency, S of them in a
 * row). A stream whose scale is 1 (an update within the clip norm) adds f64(x) itself:
 * f32(x · 1) = x exactly, so the multiply and the two conversions are skipped; which branch a
 * stream takes is fixed for the call, so it is predicted every time.
 */
function scaledAdd(S: StreamCount): FunctionSpec {
  const sum = 0;
  const groups = 1;
  const scale = (k: number) => 2 + k;
  const ptr = (k: number) => 2 + S + k;
  const splat = (k: number) => 2 + 2 * S + k;
  const acc = (j: number) => 2 + 3 * S + j; // lo0, hi0, lo1, hi1
  const x = (g: number) => 2 + 3 * S + 4 + g;
  const unit = (k: number) => 2 + 3 * S + 6 + k;
  const pairs = 2 + 4 * S + 6;
  const body: number[] = [];
  for (let k = 0; k < S; k++)
    body.push(
      ...op.localGet(scale(k)),
      ...v128.f64x2Splat,
      ...op.localSet(splat(k)),
      ...op.localGet(scale(k)),
      ...op.f64Const1,
      ...op.f64Eq,
      ...op.localSet(unit(k)),
    );
  body.push(...op.localGet(groups), ...op.i32Const(1), ...op.i32ShrU, ...op.localSet(pairs));
  const half = (g: number, high: boolean) => [
    ...op.localGet(x(g)),
    ...(high ? [...op.localGet(x(g)), ...v128.highHalfToLow] : []),
    ...v128.f64x2PromoteLowF32x4,
  ];
  const addTo = (j: number, value: number[]) => [
    ...op.localGet(acc(j)),
    ...value,
    ...v128.f64x2Add,
    ...op.localSet(acc(j)),
  ];
  const step: number[] = [];
  for (let j = 0; j < 4; j++) step.push(...op.localGet(sum), ...v128.load(16 * j), ...op.localSet(acc(j)));
  for (let k = 0; k < S; k++) {
    for (let g = 0; g < 2; g++) step.push(...op.localGet(ptr(k)), ...v128.load(16 * g), ...op.localSet(x(g)));
    step.push(...op.localGet(unit(k)), ...op.if);
    for (let j = 0; j < 4; j++) step.push(...addTo(j, half(j >> 1, (j & 1) === 1)));
    step.push(...op.else);
    for (let j = 0; j < 4; j++)
      step.push(
        ...addTo(j, [
          ...half(j >> 1, (j & 1) === 1),
          ...op.localGet(splat(k)),
          ...v128.f64x2Mul,
          ...v128.f32x4DemoteF64x2Zero,
          ...v128.f64x2PromoteLowF32x4,
        ]),
      );
    step.push(...op.end);
  }
  for (let j = 0; j < 4; j++) step.push(...op.localGet(sum), ...op.localGet(acc(j)), ...v128.store(16 * j));
  step.push(...advance(sum, 64));
  for (let k = 0; k < S; k++) step.push(...advance(ptr(k), 32));
  body.push(...loopTimes(pairs, step));
  return {
    name: `scaledAdd${S}`,
    params: [I32, I32, ...new Array<number>(S).fill(F64), ...new Array<number>(S).fill(I32)],
    results: [],
    locals: [
      [S + 6, V128],
      [S + 1, I32],
    ],
    body,
  };
}

/** addInt32{S}(target, groups, p0 … p{S-1}): target[i] += x_k[i] mod 2^32, groups of 4. */
function addInt32(S: StreamCount): FunctionSpec {
  const target = 0;
  const groups = 1;
  const ptr = (k: number) => 2 + k;
  const step: number[] = [...op.localGet(target), ...op.localGet(target), ...v128.load(0)];
  for (let k = 0; k < S; k++) step.push(...op.localGet(ptr(k)), ...v128.load(0), ...v128.i32x4Add);
  step.push(...v128.store(0), ...advance(target, 16));
  for (let k = 0; k < S; k++) step.push(...advance(ptr(k), 16));
  return {
    name: `addInt32${S}`,
    params: [I32, I32, ...new Array<number>(S).fill(I32)],
    results: [],
    locals: [],
    body: loopTimes(groups, step),
  };
}

/** subInt32(target, groups, p): target[i] -= x[i] mod 2^32 (removing one mask). */
const subInt32: FunctionSpec = {
  name: 'subInt32',
  params: [I32, I32, I32],
  results: [],
  locals: [],
  body: loopTimes(1, [
    ...op.localGet(0),
    ...op.localGet(0),
    ...v128.load(0),
    ...op.localGet(2),
    ...v128.load(0),
    ...v128.i32x4Sub,
    ...v128.store(0),
    ...advance(0, 16),
    ...advance(2, 16),
  ]),
};

/**
 * noisyAverage(sum, noise, out, groups, std, m): out[i] = f32((sum[i] + std · noise[i]) / m) for
 * groups of 4 — float64 multiply, add and divide, then one rounding to float32, as
 * noisyAverageJs does it with Math.fround.
 */
const noisyAverage: FunctionSpec = (() => {
  const [sum, noise, out, groups, std, m] = [0, 1, 2, 3, 4, 5];
  const [stdSplat, mSplat, lo] = [6, 7, 8];
  const half = (offset: number) => [
    ...op.localGet(sum),
    ...v128.load(offset),
    ...op.localGet(noise),
    ...v128.load(offset),
    ...op.localGet(stdSplat),
    ...v128.f64x2Mul,
    ...v128.f64x2Add,
    ...op.localGet(mSplat),
    ...v128.f64x2Div,
    ...v128.f32x4DemoteF64x2Zero,
  ];
  return {
    name: 'noisyAverage',
    params: [I32, I32, I32, I32, F64, F64],
    results: [],
    locals: [[3, V128]],
    body: [
      ...op.localGet(std),
      ...v128.f64x2Splat,
      ...op.localSet(stdSplat),
      ...op.localGet(m),
      ...v128.f64x2Splat,
      ...op.localSet(mSplat),
      ...loopTimes(groups, [
        ...half(0),
        ...op.localSet(lo),
        ...op.localGet(out),
        ...op.localGet(lo),
        ...half(16),
        ...v128.lowHalvesOfTwo,
        ...v128.store(0),
        ...advance(sum, 32),
        ...advance(noise, 32),
        ...advance(out, 16),
      ]),
    ],
  };
})();

/**
 * stepOne(global, x, out, groups, w, total, eta): out[i] = f32(global[i] + ((0 + w·x[i]) / total)·eta)
 * for groups of 4 — FedAvg's server step on one update (the DP wrapper's noisy average), in
 * float64 with one rounding, as stepOneJs. (·1 is exact, so eta = 1 gives global + (0 + w·x)/total.)
 */
const stepOne: FunctionSpec = (() => {
  const [global, x, out, groups, w, total, eta] = [0, 1, 2, 3, 4, 5, 6];
  const [wSplat, totalSplat, etaSplat, zero, g, v, lo] = [7, 8, 9, 10, 11, 12, 13];
  const half = (high: boolean) => [
    ...op.localGet(g),
    ...(high ? [...op.localGet(g), ...v128.highHalfToLow] : []),
    ...v128.f64x2PromoteLowF32x4,
    ...op.localGet(zero),
    ...op.localGet(wSplat),
    ...op.localGet(v),
    ...(high ? [...op.localGet(v), ...v128.highHalfToLow] : []),
    ...v128.f64x2PromoteLowF32x4,
    ...v128.f64x2Mul,
    ...v128.f64x2Add,
    ...op.localGet(totalSplat),
    ...v128.f64x2Div,
    ...op.localGet(etaSplat),
    ...v128.f64x2Mul,
    ...v128.f64x2Add,
    ...v128.f32x4DemoteF64x2Zero,
  ];
  return {
    name: 'stepOne',
    params: [I32, I32, I32, I32, F64, F64, F64],
    results: [],
    locals: [[7, V128]],
    body: [
      ...op.localGet(w),
      ...v128.f64x2Splat,
      ...op.localSet(wSplat),
      ...op.localGet(total),
      ...v128.f64x2Splat,
      ...op.localSet(totalSplat),
      ...op.localGet(eta),
      ...v128.f64x2Splat,
      ...op.localSet(etaSplat),
      ...op.f64Const0,
      ...v128.f64x2Splat,
      ...op.localSet(zero),
      ...loopTimes(groups, [
        ...op.localGet(global),
        ...v128.load(0),
        ...op.localSet(g),
        ...op.localGet(x),
        ...v128.load(0),
        ...op.localSet(v),
        ...half(false),
        ...op.localSet(lo),
        ...op.localGet(out),
        ...op.localGet(lo),
        ...half(true),
        ...v128.lowHalvesOfTwo,
        ...v128.store(0),
        ...advance(global, 16),
        ...advance(x, 16),
        ...advance(out, 16),
      ]),
    ],
  };
})();

export const KERNEL_FUNCTIONS: readonly FunctionSpec[] = [
  ...STREAM_COUNTS.map(sumSquares),
  ...STREAM_COUNTS.map(scaledAdd),
  ...STREAM_COUNTS.map(addInt32),
  subInt32,
  noisyAverage,
  stepOne,
];

type Kernel = (...args: number[]) => void;
export type KernelExports = Record<string, Kernel>;

/** Pages of 64 KiB a wasm32 memory can have (4 GiB). */
export const MAX_PAGES = 65536;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel module, or null where the engine lacks WebAssembly SIMD or threads. */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = assembleModule(KERNEL_FUNCTIONS, { minPages: 1, maxPages: MAX_PAGES, shared: true });
    compiled =
      typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/** The kernels bound to `memory` (a shared memory of at most MAX_PAGES pages). */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports | null {
  const module = kernelModule();
  if (module === null) return null;
  return new WebAssembly.Instance(module, { env: { memory } }).exports as KernelExports;
}
