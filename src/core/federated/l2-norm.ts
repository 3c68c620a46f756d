/** L2 norm, accumulated in float64 so long float32 vectors do not lose precision or overflow. */
export function l2Norm(v: Float32Array | Float64Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  return Math.sqrt(sum);
}
