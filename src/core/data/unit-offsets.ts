import { SeededRandom } from '../random/seeded-random';
import { CARE_UNIT_PROFILES } from './feature-model';
import { CARE_UNITS, type CareUnit } from './features';
import { sigmoid } from './sampling';
import { drawLatentStay, outcomeLogitWithoutUnitOffset, REFERENCE_SITE } from './stay-model';

/**
 * Care-unit offsets off_u on the outcome logit, solved so that the mortality of each unit at a
 * reference hospital (μ_h = q_h = 0) equals its §1.3 target (CLINICAL_DATA.md §5.1 step 2).
 *
 * The expectation over s, age and the non-linear extras has no closed form, so it is taken over a
 * Monte Carlo sample and the offset found by bisection (the mean of σ(x + off) increases in off).
 * Solving takes ~6 s at this precision (200,000 stays per unit), so the result is a constant here; a unit test re-solves
 * with a smaller sample and fails if the stay model changed without regenerating it:
 *   npx tsx -e "console.log(require('./src/core/data/unit-offsets').solveCareUnitOffsets(200000))"
 */
export const CARE_UNIT_OFFSETS: Readonly<Record<CareUnit, number>> = {
  MICU: -0.0255,
  'MICU/SICU': -0.0768,
  CVICU: -0.5942,
  SICU: 0.1949,
  TSICU: 0.3019,
  CCU: -0.3268,
  Neuro: 0.1064,
};

export function solveCareUnitOffsets(samplesPerUnit: number, seed = 20240611): Record<CareUnit, number> {
  const root = new SeededRandom(seed);
  const offsets = {} as Record<CareUnit, number>;
  for (const unit of CARE_UNITS) {
    const random = root.fork(`unit-offset:${unit}`);
    const logits = new Float64Array(samplesPerUnit);
    for (let i = 0; i < logits.length; i++) {
      logits[i] = outcomeLogitWithoutUnitOffset(drawLatentStay(random, unit, REFERENCE_SITE), REFERENCE_SITE);
    }
    offsets[unit] = solveOffset(logits, CARE_UNIT_PROFILES[unit].mortality);
  }
  return offsets;
}

function solveOffset(logits: Float64Array, target: number): number {
  let lo = -10;
  let hi = 10;
  for (let iteration = 0; iteration < 40; iteration++) {
    const mid = (lo + hi) / 2;
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += sigmoid(logits[i] + mid);
    if (sum / logits.length < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
