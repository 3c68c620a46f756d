import {
  assertBinaryLabels,
  assertFiniteScores,
  assertSameLength,
  countPositives,
  indicesByScoreDescending,
} from './validation';

/**
 * Average precision, as sklearn's average_precision_score: AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the
 * thresholds at each distinct score, highest first. Equal scores form one threshold, so ties are
 * never broken by input order. A step-wise sum, not the trapezoid, which is optimistic for PR curves
 * (Davis & Goadrich 2006). Null when there are no positives (recall is undefined); with no
 * negatives every threshold has precision 1, so AP is 1, as in sklearn.
 */
export function auprc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  assertSameLength(labels, scores, 'scores');
  assertBinaryLabels(labels);
  assertFiniteScores(scores);
  const n = labels.length;
  const positives = countPositives(labels);
  if (positives === 0) return null;

  const order = indicesByScoreDescending(scores);
  let truePositives = 0;
  let predictedPositives = 0;
  let previousRecall = 0;
  let averagePrecision = 0;
  let start = 0;
  while (start < n) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]] === scores[order[start]]) end++;
    for (let k = start; k <= end; k++) truePositives += labels[order[k]];
    predictedPositives += end - start + 1;
    const recall = truePositives / positives;
    averagePrecision += (recall - previousRecall) * (truePositives / predictedPositives);
    previousRecall = recall;
    start = end + 1;
  }
  return averagePrecision;
}
