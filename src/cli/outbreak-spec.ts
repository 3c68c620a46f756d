import { OUTBREAK_SPEC } from '../../schemas/training-config';
import type { OutbreakOptions } from '../core/data/outbreak';
import { UserError } from './user-error';

/**
 * `--outbreak HOSPITAL:START_WEEK:WEEKS:EXTRA_STAYS_PER_WEEK` (e.g. `h2-cardiac:60:4:12`) as the
 * generator's outbreak option. The config schema checked the shape; the generator checks that the
 * hospital exists and the weeks fit the admission period, and its errors name the field.
 */
export function parseOutbreakSpec(spec: string): OutbreakOptions {
  const match = OUTBREAK_SPEC.exec(spec);
  if (!match)
    throw new UserError(
      `--outbreak '${spec}' must be HOSPITAL:START_WEEK:WEEKS:EXTRA_STAYS_PER_WEEK, e.g. h2-cardiac:60:4:12`,
    );
  return {
    hospitalId: match[1],
    startWeek: Number(match[2]),
    weeks: Number(match[3]),
    extraRate: Number(match[4]),
  };
}
