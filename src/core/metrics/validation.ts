/** Input checks shared by every metric, so a bad evaluation fails loudly instead of returning NaN. */

export function assertSameLength(labels: ArrayLike<number>, values: ArrayLike<number>, what: string): void {
  if (labels.length !== values.length) {
    throw new RangeError(
      `labels and ${what} differ in length: ${labels.length} labels, ${values.length} ${what}`,
    );
  }
}

export function assertBinaryLabels(labels: ArrayLike<number>): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new RangeError(`label ${i} is ${y}; labels must be 0 or 1`);
  }
}

export function assertFiniteScores(scores: ArrayLike<number>): void {
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]))
      throw new RangeError(`score ${i} is ${scores[i]}; scores must be finite`);
  }
}

export function assertProbabilities(probs: ArrayLike<number>): void {
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (!Number.isFinite(p) || p < 0 || p > 1) {
      throw new RangeError(`probability ${i} is ${p}; probabilities must be finite and in [0, 1]`);
    }
  }
}

export function assertNonEmpty(labels: ArrayLike<number>): void {
  if (labels.length === 0) throw new RangeError('no examples: labels and probabilities are empty');
}

export function countPositives(labels: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return positives;
}

/** Indices 0..n-1 ordered by score, descending. */
export function indicesByScoreDescending(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b] - scores[a]);
}
