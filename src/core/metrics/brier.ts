import { assertBinaryLabels, assertNonEmpty, assertProbabilities, assertSameLength } from './validation';

/** Brier score: the mean squared error of the predicted probabilities (Brier 1950). Lower is better. */
export function brierScore(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  assertSameLength(labels, probs, 'probabilities');
  assertNonEmpty(labels);
  assertBinaryLabels(labels);
  assertProbabilities(probs);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = probs[i] - labels[i];
    sum += d * d;
  }
  return sum / labels.length;
}
