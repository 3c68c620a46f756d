import * as tf from '@tensorflow/tfjs';
import { predictProbabilities } from './prediction';
import { type TrainingData, validateTrainingData } from './training-data';

/** Keras' epsilon: probabilities are clipped to [ε, 1 − ε] so log(0) never happens. */
export const PROBABILITY_EPSILON = 1e-7;

/** Binary cross-entropy per example, −[y·log p + (1−y)·log(1−p)], shape [batch]. */
export function binaryCrossEntropyPerExample(labels: tf.Tensor, probs: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const p = tf.clipByValue(probs, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON);
    const y = labels.reshape(p.shape);
    const perElement = tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))));
    return perElement.reshape([-1]) as tf.Tensor1D;
  });
}

/** Sum of every layer's regularisation penalty (the L2 on kernels), a scalar. */
export function regularizationLoss(model: tf.LayersModel): tf.Scalar {
  return tf.tidy(() => {
    // Layer.calculateLosses, not model.calculateLosses: on a Sequential the model-level call finds
    // no losses in tfjs 4.22 because the layers live in an inner container.
    const penalties = model.layers.flatMap((layer) => layer.calculateLosses());
    return penalties.length === 0 ? tf.scalar(0) : (tf.addN(penalties) as tf.Scalar);
  });
}

/** Mean binary cross-entropy of the model on a data set, without regularisation; for reporting. */
export function binaryCrossEntropy(model: tf.LayersModel, data: TrainingData): number {
  validateTrainingData(data);
  const probs = predictProbabilities(model, data.features, data.rows, data.cols);
  let sum = 0;
  for (let i = 0; i < data.rows; i++) {
    const p = Math.min(Math.max(probs[i], PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);
    sum -= data.labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / data.rows;
}
