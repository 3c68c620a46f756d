import { addModular, sumModularInto } from '../kernels/aggregation-kernels';

/**
 * Arithmetic in Z_{2^32} on Int32Array: `| 0` reduces mod 2^32 exactly (operands stay below 2^53).
 * Long vectors go through the i32x4 SIMD kernels of src/core/kernels (the same values: modular
 * addition is exact, so no order question arises).
 */

/** Σ vectors mod 2^32; every vector must have the same length. */
export function sumModular(vectors: readonly Int32Array[], length: number): Int32Array {
  for (const v of vectors)
    if (v.length !== length) throw new RangeError(`vector has ${v.length} values, expected ${length}`);
  const out = new Int32Array(length);
  sumModularInto(out, vectors);
  return out;
}

/** target += sign · vector mod 2^32, in place. */
export function addModularInPlace(target: Int32Array, vector: Int32Array, sign: 1 | -1): void {
  if (vector.length !== target.length)
    throw new RangeError(`vector has ${vector.length} values, expected ${target.length}`);
  addModular(target, vector, sign);
}
