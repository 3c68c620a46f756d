/** Arithmetic in Z_{2^32} on Int32Array: `| 0` reduces mod 2^32 exactly (operands stay below 2^53). */

/** Σ vectors mod 2^32; every vector must have the same length. */
export function sumModular(vectors: readonly Int32Array[], length: number): Int32Array {
  const out = new Int32Array(length);
  for (const v of vectors) {
    if (v.length !== length) throw new RangeError(`vector has ${v.length} values, expected ${length}`);
    for (let i = 0; i < length; i++) out[i] = (out[i] + v[i]) | 0;
  }
  return out;
}

/** target += sign · vector mod 2^32, in place. */
export function addModularInPlace(target: Int32Array, vector: Int32Array, sign: 1 | -1): void {
  if (vector.length !== target.length)
    throw new RangeError(`vector has ${vector.length} values, expected ${target.length}`);
  if (sign === 1) for (let i = 0; i < target.length; i++) target[i] = (target[i] + vector[i]) | 0;
  else for (let i = 0; i < target.length; i++) target[i] = (target[i] - vector[i]) | 0;
}
