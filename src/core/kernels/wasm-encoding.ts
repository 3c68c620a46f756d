/**
 * Just enough of the WebAssembly binary format (https://webassembly.github.io/spec/core/binary/) to
 * assemble the aggregation kernels from bytes at load time: no toolchain at build time, no
 * dependency, and the instruction sequences stay readable next to the JavaScript reference they
 * must match.
 */

export const I32 = 0x7f;
export const F64 = 0x7c;

/** Unsigned LEB128 (binary/values.html#integers). */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128, for i32.const. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Scalar and control instructions the kernels use (binary/instructions.html). */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  /** if … else … end with no result (the condition is an i32 on the stack). */
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  /** f64.const +0 */
  f64Const0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  /** f64.const 1 */
  f64Const1: [0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
  f64Eq: [0x61],
  i32Eqz: [0x45],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32ShrU: [0x76],
};

/** SIMD instructions (the 0xfd prefix, proposals/simd/BinarySIMD.md), memarg align 2^4 offset 0. */
const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm];
export const v128 = {
  load: (offset = 0) => simd(0x00, 4, ...uleb(offset)),
  store: (offset = 0) => simd(0x0b, 4, ...uleb(offset)),
  /** Moves lanes 2,3 of an f32x4 into lanes 0,1 (bytes 8..15 first). */
  highHalfToLow: simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7),
  f64x2Splat: simd(0x14),
  f64x2PromoteLowF32x4: simd(0x5f),
  f32x4DemoteF64x2Zero: simd(0x5e),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
  f64x2Div: simd(0xf3),
  /** Lanes 0,1 of the first f32x4 then lanes 0,1 of the second (two demoted f64x2 into one f32x4). */
  lowHalvesOfTwo: simd(0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
};

export interface FunctionSpec {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals after the parameters, as [count, type] groups. */
  locals: Array<[number, number]>;
  body: number[];
}

export interface MemoryLimits {
  minPages: number;
  maxPages: number;
  /** A shared memory (a SharedArrayBuffer: growing it never detaches views, workers can use it). */
  shared: boolean;
}

/** A module importing `env.memory` (64 KiB pages within `limits`) and exporting `functions`. */
export function assembleModule(
  functions: readonly FunctionSpec[],
  limits: MemoryLimits,
): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((p) => [p])),
    ...vec(f.results.map((r) => [r])),
  ]);
  const importEntry = [
    ...uleb(3),
    ...utf8('env'),
    ...uleb(6),
    ...utf8('memory'),
    0x02,
    limits.shared ? 0x03 : 0x01,
    ...uleb(limits.minPages),
    ...uleb(limits.maxPages),
  ];
  const exported = functions.map((f, i) => [...uleb(f.name.length), ...utf8(f.name), 0x00, ...uleb(i)]);
  const bodies = functions.map((f) => {
    const body = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec([importEntry])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(exported)),
    ...section(10, vec(bodies)),
  ]);
}
