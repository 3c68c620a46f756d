import fc from 'fast-check';
import { auprc } from '../../../../src/core/metrics';

/**
 * Quadratic definition: the mean over positives of the precision at that positive's score used as
 * the threshold (score ≥ t), which is sklearn's step-wise AP with equal scores grouped.
 */
function bruteForceAp(labels: number[], scores: number[]): number | null {
  const positives = labels.filter((y) => y === 1).length;
  if (positives === 0) return null;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    let above = 0;
    let positivesAbove = 0;
    for (let j = 0; j < labels.length; j++) {
      if (scores[j] >= scores[i]) {
        above++;
        positivesAbove += labels[j];
      }
    }
    sum += positivesAbove / above;
  }
  return sum / positives;
}

describe('auprc (average precision)', () => {
  it('matches a hand-computed case', () => {
    // Thresholds 0.8: P=1, R=½; 0.4: P=½, R=½; 0.35: P=⅔, R=1 → ½·1 + ½·⅔ = 0.8333…
    expect(auprc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(5 / 6, 12);
  });

  it('groups tied scores into one threshold (sklearn behaviour)', () => {
    // One threshold at 0.5 holding 1 positive and 1 negative: P=½, R=1.
    expect(auprc([1, 0], [0.5, 0.5])).toBe(0.5);
    // 0.9 (pos): P=1, R=⅓; 0.5 (pos, neg, pos): P=¾, R=1 → ⅓ + ⅔·¾ = 0.8333…
    expect(auprc([1, 1, 0, 1], [0.9, 0.5, 0.5, 0.5])).toBeCloseTo(5 / 6, 12);
  });

  it('is null without positives and 1 without negatives', () => {
    expect(auprc([0, 0], [0.1, 0.2])).toBeNull();
    expect(auprc([1, 1], [0.1, 0.2])).toBe(1);
  });

  it('equals the quadratic definition, ties included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 5 })), { maxLength: 50 }),
        (rows) => {
          const labels = rows.map((r) => r[0]);
          const scores = rows.map((r) => r[1] / 5);
          const expected = bruteForceAp(labels, scores);
          const actual = auprc(labels, scores);
          if (expected === null) return actual === null;
          return actual !== null && Math.abs(actual - expected) < 1e-12;
        },
      ),
      { numRuns: 300 },
    );
  });
});
