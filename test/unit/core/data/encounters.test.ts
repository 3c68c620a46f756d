import {
  admissionWeek,
  cohortToCsv,
  generateCohort,
  hasSepsisLikeSyndrome,
  parseCohortCsv,
  withEncounters,
  type CohortRecord,
  type SyntheticCohort,
} from '../../../../src/core/data';

const stays = (cohort: SyntheticCohort, hospitalId: string): CohortRecord[] => {
  const h = cohort.hospitals.find((x) => x.hospitalId === hospitalId)!;
  return withEncounters([...h.train, ...h.test], h.encounters);
};

/** Weekly count of sepsis-like stays at one hospital. */
function weeklySyndrome(cohort: SyntheticCohort, hospitalId: string): number[] {
  const weeks = new Array<number>(Math.floor(cohort.truth.admissionDays / 7) + 1).fill(0);
  for (const r of stays(cohort, hospitalId)) {
    if (hasSepsisLikeSyndrome(r.features)) weeks[admissionWeek(r.admittime!, cohort.truth.admissionStart)]++;
  }
  return weeks;
}

describe('admission dates, day-1 vasopressors and outbreaks', () => {
  const cohort = generateCohort({ seed: 11 });

  it('is deterministic and gives every stay an admission date in the period and a 0/1 treatment', () => {
    expect(JSON.stringify(generateCohort({ seed: 11 }))).toBe(JSON.stringify(cohort));
    for (const h of cohort.hospitals) {
      const all = [...h.train, ...h.test];
      expect(Object.keys(h.encounters).sort()).toEqual(all.map((r) => r.stay_id).sort());
      for (const r of all) {
        const e = h.encounters[r.stay_id];
        const week = admissionWeek(e.admittime, '2022-01-03');
        expect(week >= 0 && week <= 104).toBe(true);
        expect([0, 1]).toContain(e.vasopressor_day1);
      }
    }
    expect(cohort.truth).toMatchObject({
      admissionStart: '2022-01-03',
      admissionDays: 730,
      treatment: { column: 'vasopressor_day1', logOddsRatio: -0.3 },
      outbreak: null,
    });
  });

  it('treats about a fifth of stays, more often the hypotensive (confounding by indication)', () => {
    const all = cohort.hospitals.flatMap((h) => withEncounters([...h.train, ...h.test], h.encounters));
    const rate = (rs: CohortRecord[]): number =>
      rs.filter((r) => r.vasopressor_day1 === 1).length / rs.length;
    expect(rate(all)).toBeGreaterThan(0.15);
    expect(rate(all)).toBeLessThan(0.25);
    const hypotensive = all.filter((r) => (r.features.mbp_mean ?? 99) < 65);
    expect(rate(hypotensive)).toBeGreaterThan(2 * rate(all));
  });

  it('leaves features and labels of a seed unchanged by the treatment effect and outbreak options', () => {
    const strip = (c: SyntheticCohort): string => JSON.stringify(c.hospitals.map((h) => [h.train, h.test]));
    const other = generateCohort({ seed: 11, treatmentLogOddsRatio: 0.5, admissionDays: 365 });
    expect(strip(other)).toBe(strip(cohort));
    // The treatment assignment depends on the effect (drawn given the outcome); dates on the period.
    expect(other.hospitals[0].encounters).not.toEqual(cohort.hospitals[0].encounters);
  });

  it('round-trips admittime and vasopressor_day1 through CSV; files without them still parse', () => {
    const records = stays(cohort, 'h3-community').slice(0, 30);
    const text = cohortToCsv(records);
    expect(text.split('\n')[0]).toMatch(/,label_inhospital_mortality,admittime,vasopressor_day1$/);
    expect(parseCohortCsv(text, 'h3.csv')).toEqual(records);
    const plain = cohortToCsv(cohort.hospitals[2].train.slice(0, 5));
    expect(parseCohortCsv(plain, 'h3.csv')[0].admittime).toBeUndefined();
    const datetime = text.replace(/,(\d{4}-\d{2}-\d{2}),/, ',$1 13:45:00,');
    expect(parseCohortCsv(datetime, 'h3.csv')[0].admittime).toBe(records[0].admittime);
    expect(() => parseCohortCsv(text.replace(/,(\d{4}-\d{2}-\d{2}),/, ',2022-02-30,'), 'h3.csv')).toThrow(
      /column 'admittime'/,
    );
  });

  it('raises the weekly syndrome count at the outbreak hospital in the outbreak weeks only', () => {
    const outbreak = { hospitalId: 'h2-cardiac', startWeek: 40, weeks: 4, extraRate: 6 };
    const withOutbreak = generateCohort({ seed: 11, outbreak });
    expect(withOutbreak.truth.outbreak?.injectedStays).toBeGreaterThan(10);
    for (const h of cohort.hospitals) {
      const before = weeklySyndrome(cohort, h.hospitalId);
      const after = weeklySyndrome(withOutbreak, h.hospitalId);
      const diff = after.map((x, w) => x - before[w]);
      const inWindow = (w: number): boolean => h.hospitalId === 'h2-cardiac' && w >= 40 && w < 44;
      expect(diff.filter((d, w) => !inWindow(w) && d !== 0)).toEqual([]);
      if (h.hospitalId === 'h2-cardiac') {
        expect(diff.slice(40, 44).reduce((a, b) => a + b, 0)).toBe(
          withOutbreak.truth.outbreak!.injectedStays,
        );
      }
    }
    // Regular stays keep their ids, features and labels.
    const ids = new Set(withOutbreak.truth.outbreak!.stayIds);
    const regular = withOutbreak.hospitals.map((h) => [
      h.train.filter((r) => !ids.has(r.stay_id)),
      h.test.filter((r) => !ids.has(r.stay_id)),
    ]);
    expect(JSON.stringify(regular)).toBe(JSON.stringify(cohort.hospitals.map((h) => [h.train, h.test])));
  });

  it('rejects a bad outbreak and period', () => {
    expect(() =>
      generateCohort({ outbreak: { hospitalId: 'nowhere', startWeek: 1, weeks: 2, extraRate: 1 } }),
    ).toThrow(/outbreak=.*a hospitalId of this cohort/);
    expect(() =>
      generateCohort({ outbreak: { hospitalId: 'h1-academic', startWeek: 103, weeks: 2, extraRate: 1 } }),
    ).toThrow(/startWeek \+ weeks ≤ 104/);
    expect(() => generateCohort({ admissionStart: '2022-13-01' })).toThrow(/admissionStart/);
    expect(() => generateCohort({ admissionDays: 3 })).toThrow(/admissionDays=3/);
  });
});
