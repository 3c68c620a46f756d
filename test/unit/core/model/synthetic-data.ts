import type { TrainingData } from '../../../../src/core/model';
import { SeededRandom, standardNormal } from '../../../../src/core/random/seeded-random';

/**
 * A nearly linearly separable cohort: standard-normal features, y = 1 when a fixed random
 * direction's score plus a little noise exceeds a threshold (≈ 30 % positives). Train and test
 * sets from the same seed share the direction.
 */
export function syntheticCohort(rows: number, cols: number, seed: number, split = 'train'): TrainingData {
  const directionRandom = new SeededRandom(seed).fork('direction');
  const direction = Array.from({ length: cols }, () => standardNormal(directionRandom));
  const norm = Math.hypot(...direction);
  const random = new SeededRandom(seed).fork(split);
  const features = new Float32Array(rows * cols);
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let score = 0;
    for (let c = 0; c < cols; c++) {
      const v = standardNormal(random);
      features[r * cols + c] = v;
      score += (direction[c] / norm) * v;
    }
    labels[r] = score + 0.3 * standardNormal(random) > 0.5 ? 1 : 0;
  }
  return { features, labels, rows, cols };
}
