import fc from 'fast-check';
import { auroc } from '../../../../src/core/metrics';

/** O(n²) definition: P(score₊ > score₋) + ½·P(tie) over all positive–negative pairs. */
function bruteForceAuroc(labels: number[], scores: number[]): number | null {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return pairs === 0 ? null : wins / pairs;
}

describe('auroc', () => {
  it('matches a hand-computed case', () => {
    // Pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 → 3/4.
    expect(auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it('counts a positive–negative tie as one half', () => {
    expect(auroc([0, 1], [0.5, 0.5])).toBe(0.5);
    // Pairs: 0.5=0.5 → ½, 0.5>0.2 → 1, 0.9>0.5, 0.9>0.2 → 3.5/4.
    expect(auroc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBeCloseTo(0.875, 12);
  });

  it('is 1 for perfect ranking, 0 for reversed ranking', () => {
    expect(auroc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(auroc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
  });

  it('is null when one class is absent', () => {
    expect(auroc([1, 1], [0.2, 0.3])).toBeNull();
    expect(auroc([0, 0], [0.2, 0.3])).toBeNull();
    expect(auroc([], [])).toBeNull();
  });

  it('accepts any finite scores (not only probabilities)', () => {
    expect(auroc([0, 1], [-3, 12])).toBe(1);
  });

  it('rejects bad input with a clear reason', () => {
    expect(() => auroc([0, 1], [0.1])).toThrow(/differ in length/);
    expect(() => auroc([0, 2], [0.1, 0.2])).toThrow(/label 1 is 2/);
    expect(() => auroc([0, 1], [0.1, NaN])).toThrow(/score 1 is NaN/);
  });

  it('equals the O(n²) pairwise definition, ties included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 6 })), { maxLength: 60 }),
        (rows) => {
          const labels = rows.map((r) => r[0]);
          // Few distinct scores so ties are common.
          const scores = rows.map((r) => r[1] / 6);
          const expected = bruteForceAuroc(labels, scores);
          const actual = auroc(labels, scores);
          if (expected === null) return actual === null;
          return actual !== null && Math.abs(actual - expected) < 1e-12;
        },
      ),
      { numRuns: 300 },
    );
  });
});
