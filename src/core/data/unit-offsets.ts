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
 * fixed Monte Carlo sample (own seed: the offsets are constants of the model, not of a cohort's seed)
 * and the offset is found by bisection; the mean of σ(x + off) is increasing in off.
 */
const SOLVER_SEED = 20240611;
const SOLVER_SAMPLES_PER_UNIT = 20000;

let cached: Readonly<Record<CareUnit, number>> | undefined;

export function careUnitOffsets(): Readonly<Record<CareUnit, number>> {
  if (!cached) {
    const root = new SeededRandom(SOLVER_SEED);
    const offsets = {} as Record<CareUnit, number>;
    for (const unit of CARE_UNITS) {
      const random = root.fork(`unit-offset:${unit}`);
      const logits = new Float64Array(SOLVER_SAMPLES_PER_UNIT);
      for (let i = 0; i < logits.length; i++) {
        logits[i] = outcomeLogitWithoutUnitOffset(
          drawLatentStay(random, unit, REFERENCE_SITE),
          REFERENCE_SITE,
        );
      }
      offsets[unit] = solveOffset(logits, CARE_UNIT_PROFILES[unit].mortality);
    }
    cached = Object.freeze(offsets);
  }
  return cached;
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
