/**
 * TensorFlow.js writes weights.bin as the model's float32 weights concatenated in manifest order
 * (little-endian on every platform HIMAS runs on), which is exactly the flat vector aggregation
 * works on. So the aggregator never needs TensorFlow.js: it averages bytes and keeps model.json.
 */
export function weightsFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new Error(`weights.bin has ${bytes.byteLength} bytes, not a whole number of float32 values`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

export function bytesFromWeights(weights: Float32Array): Uint8Array {
  return new Uint8Array(weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength));
}
