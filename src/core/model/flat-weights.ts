import * as tf from '@tensorflow/tfjs';

/**
 * A model's trainable weights as one vector: the form in which updates are clipped, noised,
 * masked and averaged. Order is `model.trainableWeights`, which equals `model.getWeights()` order
 * for every model createModel builds (they have no non-trainable weights).
 */
export function getFlatWeights(model: tf.LayersModel): Float32Array {
  const flat = new Float32Array(countParameters(model));
  let offset = 0;
  for (const weight of model.trainableWeights) {
    const values = weight.read().dataSync();
    flat.set(values, offset);
    offset += values.length;
  }
  return flat;
}

/** Writes a vector from getFlatWeights (or an aggregate of such vectors) back into the model. */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const expected = countParameters(model);
  if (flat.length !== expected) {
    throw new RangeError(
      `flat weight vector has ${flat.length} values but model '${model.name}' has ${expected} trainable parameters`,
    );
  }
  let offset = 0;
  for (const weight of model.trainableWeights) {
    const size = sizeOf(weight.shape);
    const value = tf.tensor(flat.subarray(offset, offset + size), weight.shape as number[], 'float32');
    // write() assigns into the existing variable, so the optimizer and layers keep their references.
    weight.write(value);
    value.dispose();
    offset += size;
  }
}

/** Number of trainable parameters, i.e. the length of getFlatWeights(model). */
export function countParameters(model: tf.LayersModel): number {
  let count = 0;
  for (const weight of model.trainableWeights) {
    count += sizeOf(weight.shape);
  }
  return count;
}

/** A weight's shape is always fully known once the model is built; null would be a batch axis. */
function sizeOf(shape: ReadonlyArray<number | null>): number {
  let size = 1;
  for (const d of shape) {
    if (d === null)
      throw new Error('a weight has an unknown dimension; build the model before reading weights');
    size *= d;
  }
  return size;
}
