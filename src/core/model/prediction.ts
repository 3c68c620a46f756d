import * as tf from '@tensorflow/tfjs';
import { assertInputWidth } from './training-data';

export const DEFAULT_PREDICTION_BATCH_SIZE = 1024;

/**
 * Predicted probability of the positive class for each row of a row-major feature matrix. Runs in
 * slices so a large evaluation set never needs one huge tensor, and disposes each slice's tensors.
 */
export function predictProbabilities(
  model: tf.LayersModel,
  features: Float32Array,
  rows: number,
  cols: number,
  batchSize: number = DEFAULT_PREDICTION_BATCH_SIZE,
): Float32Array {
  if (!Number.isInteger(rows) || rows < 0)
    throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (features.length !== rows * cols) {
    throw new RangeError(`features hold ${features.length} values, expected rows × cols = ${rows} × ${cols}`);
  }
  assertInputWidth(model.inputs[0].shape, cols);
  const out = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchSize) {
    const end = Math.min(rows, start + batchSize);
    const values = tf.tidy(() => {
      const x = tf.tensor2d(features.subarray(start * cols, end * cols), [end - start, cols]);
      return (model.predict(x) as tf.Tensor).dataSync();
    });
    out.set(values, start);
  }
  return out;
}
