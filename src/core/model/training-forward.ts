import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random/random';

/**
 * The model's output in training mode, with dropout masks drawn from `random`.
 *
 * Why not model.apply(x, { training: true }) alone: a tfjs Dropout layer without a seed draws from
 * Math.random, and with a fixed seed it draws the same mask at every step. So, when the model has
 * dropout, the layers are applied one by one and each Dropout is replaced by tf.dropout with a fresh
 * seed from `random`, which keeps training reproducible and the masks independent.
 */
export function forwardForTraining(model: tf.LayersModel, x: tf.Tensor, random: Random): tf.Tensor {
  const hasDropout = model.layers.some((layer) => layer.getClassName() === 'Dropout');
  if (!hasDropout) return model.apply(x, { training: true }) as tf.Tensor;
  if (model.getClassName() !== 'Sequential') {
    throw new Error(
      `model '${model.name}' has dropout but is not Sequential; only a layer chain can be trained`,
    );
  }
  return tf.tidy(() => {
    let h = x;
    for (const layer of model.layers) {
      if (layer.getClassName() === 'Dropout') {
        const rate = layer.getConfig().rate as number;
        h = tf.dropout(h, rate, undefined, random.nextUint32());
      } else {
        h = layer.apply(h, { training: true }) as tf.Tensor;
      }
    }
    return h;
  });
}
