import {
  CARE_UNITS,
  CohortOptionsError,
  NUMERIC_FEATURES,
  generateCohort,
  type CohortRecord,
  type SyntheticCohort,
} from '../../../../src/core/data';

const allStays = (cohort: SyntheticCohort): CohortRecord[] =>
  cohort.hospitals.flatMap((h) => [...h.train, ...h.test]);

describe('generateCohort', () => {
  const cohort = generateCohort();

  it('is deterministic: same options, identical output', () => {
    // JSON comparison: deep toEqual over thousands of records is needlessly slow.
    expect(JSON.stringify(generateCohort())).toBe(JSON.stringify(cohort));
    const options = { preset: 'eicu-like', hospitals: 4, patients: 800, seed: 9 } as const;
    expect(JSON.stringify(generateCohort(options))).toBe(JSON.stringify(generateCohort(options)));
  });

  it('depends on the seed', () => {
    const other = generateCohort({ seed: 43 });
    expect(other.hospitals[0].train[0].features).not.toEqual(cohort.hospitals[0].train[0].features);
  });

  it('defaults to the first three archetypes with unequal sizes of about 4500 stays', () => {
    expect(cohort.preset).toBe('archetypes');
    expect(cohort.seed).toBe(42);
    expect(cohort.hospitals.map((h) => h.hospitalId)).toEqual(['h1-academic', 'h2-cardiac', 'h3-community']);
    const sizes = cohort.hospitals.map((h) => h.train.length + h.test.length);
    expect(sizes).toEqual([2000, 1600, 900]);
    for (const h of cohort.hospitals) {
      expect(h.name.length).toBeGreaterThan(0);
      expect(h.description.length).toBeGreaterThan(0);
    }
  });

  it('holds out a seeded 25 % of each hospital for testing, with no stay in both splits', () => {
    const ids = allStays(cohort).map((r) => r.stay_id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const h of cohort.hospitals)
      expect(h.test.length).toBe(Math.round((h.train.length + h.test.length) * 0.25));
    expect(generateCohort({ testFraction: 0.1 }).hospitals[0].test.length).toBe(200);
  });

  it('emits complete, plausible records', () => {
    const keys = [...NUMERIC_FEATURES].sort().join(',');
    const problems: string[] = [];
    const check = (ok: boolean, r: CohortRecord, what: string): void => {
      if (!ok) problems.push(`${r.stay_id}: ${what}`);
    };
    for (const r of allStays(cohort)) {
      const f = r.features;
      check(Object.keys(f).sort().join(',') === keys, r, 'feature keys');
      check((CARE_UNITS as readonly string[]).includes(r.first_careunit), r, 'care unit');
      check(r.label_inhospital_mortality === 0 || r.label_inhospital_mortality === 1, r, 'label');
      check(/^3\d{7}$/.test(r.stay_id), r, 'stay_id');
      check(
        Object.values(f).every((v) => v === null || Number.isFinite(v)),
        r,
        'non-finite value',
      );
      check(f.age !== null && f.age >= 18 && f.age <= 91, r, `age ${f.age}`);
      check(
        f.gcs_min === null || (f.gcs_min >= 3 && f.gcs_min <= 15 && Number.isInteger(f.gcs_min)),
        r,
        'gcs',
      );
      check(f.spo2_mean === null || f.spo2_mean <= 100, r, 'spo2');
      check(f.lactate_max === null || f.lactate_max >= 0.4, r, 'lactate');
      check(f.heart_rate_mean !== null, r, 'heart rate is never missing');
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('rescales hospital sizes to the requested total', () => {
    const small = generateCohort({ hospitals: 5, patients: 1000 });
    const sizes = small.hospitals.map((h) => h.train.length + h.test.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(sizes[0]).toBeGreaterThan(sizes[4]);
    expect(small.hospitals.map((h) => h.hospitalId)).toEqual([
      'h1-academic',
      'h2-cardiac',
      'h3-community',
      'h4-trauma',
      'h5-neuro',
    ]);
  });

  it('builds eicu-like sites with lognormal sizes and stable ids', () => {
    const eicu = generateCohort({ preset: 'eicu-like', hospitals: 12, seed: 3 });
    expect(eicu.hospitals.map((h) => h.hospitalId)).toEqual(
      Array.from({ length: 12 }, (_, i) => `h${String(i + 1).padStart(2, '0')}`),
    );
    const sizes = eicu.hospitals.map((h) => h.train.length + h.test.length);
    for (const n of sizes) expect(n).toBeGreaterThanOrEqual(80);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(3);
    // A site's draws do not depend on how many sites there are.
    const fewer = generateCohort({ preset: 'eicu-like', hospitals: 5, seed: 3 });
    expect(fewer.hospitals[2].description).toBe(eicu.hospitals[2].description);
    const rescaled = generateCohort({ preset: 'eicu-like', hospitals: 150, patients: 6000 });
    expect(rescaled.hospitals[0].hospitalId).toBe('h001');
    expect(rescaled.hospitals.reduce((sum, h) => sum + h.train.length + h.test.length, 0)).toBe(6000);
  });

  it('makes one client per care unit for mimic-careunit', () => {
    const units = generateCohort({ preset: 'mimic-careunit', patients: 1400 });
    expect(units.hospitals.map((h) => h.hospitalId)).toEqual([
      'micu',
      'micu-sicu',
      'cvicu',
      'sicu',
      'tsicu',
      'ccu',
      'neuro',
    ]);
    units.hospitals.forEach((h, u) => {
      expect(new Set([...h.train, ...h.test].map((r) => r.first_careunit))).toEqual(new Set([CARE_UNITS[u]]));
    });
    expect(JSON.stringify(generateCohort({ preset: 'mimic-careunit', hospitals: 7, patients: 1400 }))).toBe(
      JSON.stringify(units),
    );
  });

  describe('rejects bad options with the field, the value and what is allowed', () => {
    const cases: [string, object, RegExp][] = [
      [
        'too many archetypes',
        { hospitals: 6 },
        /hospitals=6: allowed an integer from 1 to 5 for preset 'archetypes'/,
      ],
      ['zero hospitals', { hospitals: 0 }, /hospitals=0/],
      [
        'fractional hospitals',
        { preset: 'eicu-like', hospitals: 2.5 },
        /hospitals=2.5: allowed an integer from 2 to 300/,
      ],
      ['one eicu hospital', { preset: 'eicu-like', hospitals: 1 }, /from 2 to 300 for preset 'eicu-like'/],
      ['too many eicu hospitals', { preset: 'eicu-like', hospitals: 301 }, /hospitals=301/],
      [
        'mimic-careunit with 3',
        { preset: 'mimic-careunit', hospitals: 3 },
        /exactly 7 \(one client per care unit\) or absent/,
      ],
      [
        'unknown preset',
        { preset: 'mimic' },
        /preset='mimic': allowed one of 'archetypes', 'eicu-like', 'mimic-careunit'/,
      ],
      ['too few patients', { patients: 30 }, /patients=30: allowed an integer from 60/],
      ['fractional patients', { patients: 1000.5 }, /patients=1000.5/],
      ['negative seed', { seed: -1 }, /seed=-1: allowed an integer from 0 to 4294967295/],
      ['fractional seed', { seed: 1.5 }, /seed=1.5/],
      ['testFraction of 1', { testFraction: 1 }, /testFraction=1: allowed a number strictly between 0 and 1/],
      ['testFraction of 0', { testFraction: 0 }, /testFraction=0/],
      [
        'unknown field',
        { hospital: 3 },
        /hospital=3: allowed fields preset, hospitals, patients, seed, testFraction/,
      ],
    ];
    it.each(cases)('%s', (_name, options, message) => {
      let error: unknown;
      try {
        generateCohort(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CohortOptionsError);
      expect((error as Error).message).toMatch(message);
    });

    it('exposes field, value and allowed on the error', () => {
      try {
        generateCohort({ hospitals: 6 });
        throw new Error('expected a CohortOptionsError');
      } catch (e) {
        expect(e).toMatchObject({ field: 'hospitals', value: 6, name: 'CohortOptionsError' });
        expect((e as CohortOptionsError).allowed).toContain('1 to 5');
      }
    });
  });
});
