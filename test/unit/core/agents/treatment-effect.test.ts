import { generateCohort, withEncounters } from '../../../../src/core/data';
import {
  crudeOddsRatio,
  estimateTreatmentEffect,
  mantelHaenszel,
  noisyTables,
  stratifiedTables,
} from '../../../../src/core/agents/treatment-effect';
import { fakeSecureRandom } from '../federated/fake-secure-random';

describe('Mantel–Haenszel with the Robins–Breslow–Greenland variance', () => {
  it('reproduces a hand computation', () => {
    // Two strata: OR 2 in each → OR_MH = 2.
    const tables = [
      { stratum: 0, a: 20, b: 10, c: 40, d: 40 },
      { stratum: 1, a: 10, b: 20, c: 10, d: 40 },
    ];
    const mh = mantelHaenszel(tables)!;
    expect(mh.oddsRatio).toBeCloseTo(2, 10);
    // RBG: R = 800/110 + 400/80, S = 400/110 + 200/80 ...
    const R = 800 / 110 + 400 / 80;
    const S = 400 / 110 + 200 / 80;
    const PR = (60 / 110) * (800 / 110) + (50 / 80) * (400 / 80);
    const PSQR =
      (60 / 110) * (400 / 110) + (50 / 110) * (800 / 110) + (50 / 80) * (200 / 80) + (30 / 80) * (400 / 80);
    const QS = (50 / 110) * (400 / 110) + (30 / 80) * (200 / 80);
    const variance = PR / (2 * R * R) + PSQR / (2 * R * S) + QS / (2 * S * S);
    expect(mh.standardError).toBeCloseTo(Math.sqrt(variance), 12);
    expect(crudeOddsRatio([{ stratum: 0, a: 1, b: 2, c: 3, d: 0 }])).toBeNull();
  });
});

describe('estimateTreatmentEffect on a large simulated cohort', () => {
  const cohort = generateCohort({ patients: 100_000, seed: 1 });
  const truth = cohort.truth.treatment.logOddsRatio;
  const shared = cohort.hospitals.map((h) =>
    stratifiedTables(h.hospitalId, withEncounters([...h.train, ...h.test], h.encounters)),
  );

  it('covers the true log-OR with the pooled interval; the crude estimate is biased towards harm', () => {
    const report = estimateTreatmentEffect(shared);
    const pooled = report.pooled!;
    expect(truth).toBe(-0.3);
    expect(pooled.ci95[0]).toBeLessThan(truth);
    expect(pooled.ci95[1]).toBeGreaterThan(truth);
    expect(pooled.ci95[1]).toBeLessThan(0); // the protective effect is detected
    // Confounding by indication: sicker stays are treated, so the crude OR looks harmful.
    expect(report.pooledCrude!.logOddsRatio).toBeGreaterThan(0);
    expect(report.pooledCrude!.ci95[0]).toBeGreaterThan(truth);
    expect(report.hospitals).toHaveLength(3);
    for (const h of report.hospitals) expect(h.estimate!.ci95[1] - h.estimate!.ci95[0]).toBeGreaterThan(0);
    expect(report.caveats.join(' ')).toMatch(/residual confounding/i);
    expect(report.summary).toMatch(
      /^Day-1 vasopressors and in-hospital mortality, adjusted for severity across 3/,
    );
  });

  it('still covers the truth with DP noise (z = 2) on every shared cell', () => {
    const noisy = shared.map((h, i) => noisyTables(h, 2, fakeSecureRandom(100 + i)));
    expect(noisy[0].event).toEqual({ kind: 'gaussian', noiseMultiplier: 2 });
    const pooled = estimateTreatmentEffect(noisy.map((n) => n.tables)).pooled!;
    expect(pooled.ci95[0]).toBeLessThan(truth);
    expect(pooled.ci95[1]).toBeGreaterThan(truth);
  });

  it('skips stays without a treatment value', () => {
    const h = cohort.hospitals[0];
    expect(stratifiedTables(h.hospitalId, h.train).skipped).toBe(h.train.length);
  });
});
