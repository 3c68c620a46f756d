import { CARE_UNITS } from '../../../../src/core/data';
import { CARE_UNIT_OFFSETS, solveCareUnitOffsets } from '../../../../src/core/data/unit-offsets';

describe('care-unit outcome offsets', () => {
  it('match a fresh solve of the stay model (regenerate the constants if the model changed)', () => {
    // 2,000 stays per unit keeps this fast; its Monte Carlo error is about 0.04 on the logit.
    const solved = solveCareUnitOffsets(2000, 7);
    for (const unit of CARE_UNITS)
      expect(Math.abs(solved[unit] - CARE_UNIT_OFFSETS[unit])).toBeLessThan(0.15);
  });
});
