import { qualityTuningSection } from '../../../bench/report/quality-tuning-section';
import { summarize, type RunCheck } from '../../../bench/suites/quality-tuning';

const run = (over: Partial<RunCheck>): RunCheck => ({
  seed: 1,
  row: 'site',
  auroc: 0.84,
  centralAuroc: 0.85,
  oe: 1,
  slope: 1,
  worstLogOE: 0.3,
  centralWorstLogOE: 0.25,
  localOnlyWins: 0,
  compared: 3,
  winners: [],
  ...over,
});

describe('quality tuning summary (issue 14 criteria per run)', () => {
  it('counts each criterion at its bounds and names the hospitals whose local model won', () => {
    const checks = [
      run({}),
      // Out of every range: O:E 1.2, slope 0.8, AUROC 0.03 below central, excess 0.2.
      run({ oe: 1.2, slope: 0.8, auroc: 0.82, worstLogOE: 0.45, localOnlyWins: 2, winners: [0, 2] }),
      // On the bounds: O:E 0.9, slope 1.15, AUROC exactly 0.02 below, excess exactly 0.1.
      run({ oe: 0.9, slope: 1.15, auroc: 0.83, worstLogOE: 0.35, localOnlyWins: 1, winners: [0] }),
      run({ row: 'other', oe: 5 }),
    ];
    const s = summarize(checks, 'site', 3);
    expect(s.runs).toBe(3);
    expect(s.pooledOEWithin).toBe(2);
    expect(s.slopeWithin).toBe(2);
    expect(s.aurocWithin).toBe(2);
    expect(s.perHospitalOEWithin).toBe(2);
    expect(s.oe).toEqual({ mean: expect.closeTo(1.0333, 3), min: 0.9, max: 1.2 });
    expect(s.localOnlyWins).toBe(1);
    expect(s.winsByHospital).toEqual([2, 0, 1]);

    const page = qualityTuningSection({
      settings: {
        preset: 'archetypes',
        hospitals: 3,
        patients: 6000,
        rounds: 10,
        runs: 3,
        groups: [{ label: 'held-out seeds', seeds: [1] }],
      },
      rows: [{ id: 'site', label: 'site intercept' }],
      hospitalIds: ['h1', 'h2', 'h3'],
      groups: [{ label: 'held-out seeds', seeds: [1], summaries: [s] }],
      checks,
      seconds: 12,
    }).join('\n');
    expect(page).toContain('held-out seeds: 1 (3 runs per row).');
    expect(page).toContain('| site intercept | 2 of 3 | 1.03 [0.90, 1.20] | 2 of 3 |');
    expect(page).toContain('| 1.0 (2 / 0 / 1) |');
    expect(page).toContain('(h1, h2, h3)');
  });
});
