import { computeEpsilon } from '../../../../src/core/privacy';
import { generateCohort, withEncounters, type GenerateCohortOptions } from '../../../../src/core/data';
import {
  L2_SENSITIVITY,
  SIGNALS,
  detectOutbreaks,
  releaseWeeklyCounts,
  weeklyCounts,
  type SurveillanceAlert,
} from '../../../../src/core/agents/surveillance';
import { cusumAlarms, DEFAULT_CUSUM } from '../../../../src/core/agents/cusum';
import { fakeSecureRandom } from '../federated/fake-secure-random';

/**
 * Measured with this file's `simulate` (20 seeds 1–20, archetypes preset, 3 hospitals, 4,500 stays
 * over 104 weeks, outbreak at h2-cardiac weeks 60–63, detector k = 1, h = 4, B = 26, G = 2 on
 * sepsis_like, per hospital and pooled):
 *   z = 1   (noise SD 2): extraRate 6/week → detected 17/20, delay 0–3 weeks (median 1);
 *                          extraRate 3/week → 6/20; no outbreak → 1 alert in 20 cohorts.
 *   z = 0.5 (noise SD 1): extraRate 3/week → detected 14/20, delay 0–3 weeks (median 1);
 *                          no outbreak → 2 alerts in 20 cohorts.
 * A false alert was never at the wrong hospital during an outbreak run.
 */
function simulate(
  seed: number,
  z: number,
  outbreak?: GenerateCohortOptions['outbreak'],
): SurveillanceAlert[] {
  const cohort = generateCohort({ seed, outbreak });
  const releases = cohort.hospitals.map((h, i) =>
    releaseWeeklyCounts(
      weeklyCounts(
        h.hospitalId,
        withEncounters([...h.train, ...h.test], h.encounters),
        cohort.truth.admissionStart,
        104,
      ),
      z,
      fakeSecureRandom(seed * 10 + i),
    ),
  );
  return detectOutbreaks(
    releases.map((r) => r.release),
    { cusum: { noiseStd: releases[0].noiseStd } },
  );
}

describe('surveillance counts', () => {
  const cohort = generateCohort({ seed: 4 });
  const h = cohort.hospitals[0];
  const records = withEncounters([...h.train, ...h.test], h.encounters);
  // 730 days span weeks 0–104 (the last two days start week 104).
  const exact = weeklyCounts(h.hospitalId, records, cohort.truth.admissionStart, 105);

  it('counts every stay once, by week, unit, death and syndrome', () => {
    const column = (s: string): number => SIGNALS.indexOf(s);
    const total = (s: string): number => exact.counts.reduce((sum, row) => sum + row[column(s)], 0);
    expect(exact.skipped).toBe(0);
    expect(total('admissions')).toBe(records.length);
    expect(total('deaths')).toBe(records.filter((r) => r.label_inhospital_mortality === 1).length);
    const units = SIGNALS.filter((s) => s.startsWith('admissions:')).reduce((sum, s) => sum + total(s), 0);
    expect(units).toBe(records.length);
    expect(weeklyCounts('x', h.train, cohort.truth.admissionStart, 104).skipped).toBe(h.train.length);
  });

  it('adds Gaussian noise of SD z·Δ₂ (Δ₂ = 2) and records one Gaussian event per release', () => {
    const { release, noiseStd, event } = releaseWeeklyCounts(exact, 1.5, fakeSecureRandom(1));
    expect(L2_SENSITIVITY).toBe(2);
    expect(noiseStd).toBe(3);
    const residuals = release.counts.flatMap((row, w) => row.map((c, s) => c - exact.counts[w][s]));
    const sd = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / residuals.length);
    expect(sd).toBeGreaterThan(2.8);
    expect(sd).toBeLessThan(3.2);
    expect(event).toEqual({ kind: 'gaussian', noiseMultiplier: 1.5 });
    expect(computeEpsilon(event, 1e-5).epsilon).toBeLessThan(4);
    expect(() => releaseWeeklyCounts(exact, 1, { ...fakeSecureRandom(1), secure: false as never })).toThrow();
  });
});

describe('CUSUM detector', () => {
  it('stays quiet on a flat series and fires on a step, with the excess as size', () => {
    const flat = Array.from({ length: 60 }, (_, t) => 5 + (t % 3) - 1);
    expect(cusumAlarms(flat)).toEqual([]);
    const step = flat.map((y, t) => (t >= 40 && t < 44 ? y + 6 : y));
    const alarms = cusumAlarms(step, DEFAULT_CUSUM);
    // 6 above a mean of 5 (SD floor √5): x − k ≈ 1.7 a week, over h = 4 in the third week.
    expect(alarms[0].week).toBe(42);
    expect(alarms[0].excess).toBeGreaterThan(4);
  });

  it('detects an injected outbreak at the right hospital and weeks, and nothing without it', () => {
    const outbreak = { hospitalId: 'h2-cardiac', startWeek: 60, weeks: 4, extraRate: 6 };
    const alerts = simulate(1, 1, outbreak);
    const hit = alerts.find((a) => a.hospitalId === 'h2-cardiac');
    expect(hit).toBeDefined();
    expect(hit!.week).toBeGreaterThanOrEqual(60);
    expect(hit!.week).toBeLessThan(64);
    expect(hit!.signal).toBe('sepsis_like');
    expect(hit!.message).toMatch(/sepsis_like at h2-cardiac rose in the week of 2023-03-/);
    expect(alerts.filter((a) => a.hospitalId !== 'h2-cardiac' && a.hospitalId !== 'all')).toEqual([]);
    expect(simulate(1, 1)).toEqual([]);
  });
});
