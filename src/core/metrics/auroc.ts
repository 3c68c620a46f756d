import {
  assertBinaryLabels,
  assertFiniteScores,
  assertSameLength,
  countPositives,
  indicesByScoreDescending,
} from './validation';

/**
 * Area under the ROC curve as the Mann–Whitney U statistic: AUROC = U / (n₊·n₋), with
 * U = R₊ − n₊(n₊+1)/2 and R₊ the sum of the positives' ranks (Hanley & McNeil 1982). Tied scores
 * share their average rank, so a positive–negative tie counts ½, as in sklearn's roc_auc_score.
 * O(n log n) for the sort. Null when either class is absent (the curve is undefined).
 */
export function auroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  assertSameLength(labels, scores, 'scores');
  assertBinaryLabels(labels);
  assertFiniteScores(scores);
  const n = labels.length;
  const positives = countPositives(labels);
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;

  // Ascending ranks 1..n; walk the descending order and convert, so one sort helper serves both metrics.
  const order = indicesByScoreDescending(scores);
  let positiveRankSum = 0;
  let start = 0;
  while (start < n) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]] === scores[order[start]]) end++;
    // Positions start..end (descending) are ascending ranks n-end .. n-start; all get their mean.
    const averageRank = n - (start + end) / 2;
    for (let k = start; k <= end; k++) positiveRankSum += labels[order[k]] * averageRank;
    start = end + 1;
  }
  const u = positiveRankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}
