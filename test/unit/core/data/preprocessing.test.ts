import fc from 'fast-check';
import {
  CARE_UNITS,
  FeatureStatisticsSchema,
  NUMERIC_FEATURES,
  PreprocessingError,
  PreprocessorSchema,
  careUnitColumn,
  computeFeatureStatistics,
  fitPreprocessor,
  generateCohort,
  mergeFeatureStatistics,
  preprocessorFromStatistics,
  transformRecords,
  type CohortRecord,
  type FeatureStatistics,
} from '../../../../src/core/data';

const cohort = generateCohort({ seed: 11 });
const train = cohort.hospitals.flatMap((h) => h.train);

const valueArbitrary = fc.option(fc.double({ min: -50, max: 5000, noNaN: true }), { nil: null });
const recordArbitrary: fc.Arbitrary<CohortRecord> = fc.record({
  stay_id: fc.string(),
  first_careunit: fc.constantFrom(...CARE_UNITS),
  label_inhospital_mortality: fc.constantFrom(0 as const, 1 as const),
  features: fc.record(Object.fromEntries(NUMERIC_FEATURES.map((f) => [f, valueArbitrary]))),
});

function expectStatisticsClose(actual: FeatureStatistics, expected: FeatureStatistics): void {
  expect(actual.rows).toBe(expected.rows);
  expected.features.forEach((e, j) => {
    const a = actual.features[j];
    expect([a.name, a.count, a.missing, a.transform]).toEqual([e.name, e.count, e.missing, e.transform]);
    for (const key of ['sum', 'sumOfSquares'] as const) {
      expect(Math.abs(a[key] - e[key])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e[key])));
    }
  });
}

describe('federated feature statistics', () => {
  it('merged hospital parts equal the statistics of the union (any partition, any order)', () => {
    fc.assert(
      fc.property(
        fc.array(recordArbitrary, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (records, cuts) => {
          const bounds = [
            0,
            ...cuts.map((c) => c % (records.length + 1)).sort((a, b) => a - b),
            records.length,
          ];
          const parts = bounds
            .slice(1)
            .map((end, i) => computeFeatureStatistics(records.slice(bounds[i], end)));
          const union = computeFeatureStatistics(records);
          expectStatisticsClose(mergeFeatureStatistics(parts), union);
          expectStatisticsClose(mergeFeatureStatistics([...parts].reverse()), union);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a preprocessor from merged hospital statistics equals one fitted on the pooled rows', () => {
    const parts = cohort.hospitals.map((h) => computeFeatureStatistics(h.train));
    const merged = preprocessorFromStatistics(mergeFeatureStatistics(parts));
    const pooled = fitPreprocessor(train);
    expect(merged.featureNames).toEqual(pooled.featureNames);
    merged.numeric.forEach((c, j) => {
      expect(c.mean).toBeCloseTo(pooled.numeric[j].mean, 9);
      expect(c.std).toBeCloseTo(pooled.numeric[j].std, 9);
    });
  });

  it('is JSON-serialisable and counts present and missing values', () => {
    const stats = computeFeatureStatistics(train);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
    expect(FeatureStatisticsSchema.parse(JSON.parse(JSON.stringify(stats)))).toEqual(stats);
    expect(FeatureStatisticsSchema.safeParse({ ...stats, rows: -1 }).success).toBe(false);
    const lactate = stats.features.find((f) => f.name === 'lactate_max');
    expect(lactate?.transform).toEqual({ kind: 'log', floor: 0.1 });
    expect((lactate?.count ?? 0) + (lactate?.missing ?? 0)).toBe(train.length);
    expect(lactate?.missing).toBe(train.filter((r) => r.features.lactate_max === null).length);
  });

  it('refuses to merge nothing or statistics of different feature sets', () => {
    expect(() => mergeFeatureStatistics([])).toThrow(PreprocessingError);
    const a = computeFeatureStatistics(train.slice(0, 10));
    const b = { ...a, features: a.features.slice(1) };
    expect(() => mergeFeatureStatistics([a, b])).toThrow(/different features or transforms/);
    expect(() => preprocessorFromStatistics(b)).toThrow(PreprocessingError);
    expect(() => fitPreprocessor([])).toThrow(/zero training rows/);
  });
});

describe('transformRecords', () => {
  const preprocessor = fitPreprocessor(train);
  const matrix = transformRecords(preprocessor, train);

  it('lays out numeric columns, missingness indicators and one-hot care units', () => {
    expect(matrix.featureNames).toEqual([
      ...NUMERIC_FEATURES,
      'lactate_max_missing',
      'bilirubin_total_max_missing',
      ...CARE_UNITS.map(careUnitColumn),
    ]);
    expect(careUnitColumn('MICU/SICU')).toBe('first_careunit_micu_sicu');
    expect([matrix.rows, matrix.cols]).toEqual([train.length, matrix.featureNames.length]);
    expect(matrix.features.length).toBe(matrix.rows * matrix.cols);
    expect(matrix.stayIds).toEqual(train.map((r) => r.stay_id));
    expect(Array.from(matrix.labels)).toEqual(train.map((r) => r.label_inhospital_mortality));
  });

  it('standardises the fitting data: mean ~0, variance ~ the share of present values', () => {
    NUMERIC_FEATURES.forEach((name, j) => {
      let sum = 0;
      let sumOfSquares = 0;
      for (let i = 0; i < matrix.rows; i++) {
        const v = matrix.features[i * matrix.cols + j];
        sum += v;
        sumOfSquares += v * v;
      }
      const mean = sum / matrix.rows;
      const present = train.filter((r) => r.features[name] !== null).length / train.length;
      expect(Math.abs(mean)).toBeLessThan(0.01);
      // Missing entries sit at 0 (imputed with the mean), so variance is the present share.
      expect(Math.abs(sumOfSquares / matrix.rows - mean * mean - present)).toBeLessThan(0.02);
    });
  });

  it('sets missingness indicators and exactly one care-unit column per row', () => {
    const lactate = matrix.featureNames.indexOf('lactate_max_missing');
    const bilirubin = matrix.featureNames.indexOf('bilirubin_total_max_missing');
    const firstUnit = matrix.featureNames.indexOf(careUnitColumn('MICU'));
    const wrong = train.filter((r, i) => {
      const row = matrix.features.subarray(i * matrix.cols, (i + 1) * matrix.cols);
      const units = Array.from(row.subarray(firstUnit));
      return (
        row[lactate] !== (r.features.lactate_max === null ? 1 : 0) ||
        row[bilirubin] !== (r.features.bilirubin_total_max === null ? 1 : 0) ||
        units.reduce((a, b) => a + b, 0) !== 1 ||
        units[CARE_UNITS.indexOf(r.first_careunit)] !== 1
      );
    });
    expect(wrong.map((r) => r.stay_id)).toEqual([]);
    expect(train.some((r) => r.features.lactate_max === null)).toBe(true);
  });

  it('never emits NaN or values beyond ±clipZ, whatever the input', () => {
    const extreme = fc.oneof(
      valueArbitrary,
      fc.constantFrom(0, -1, 1e308, -1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    );
    const wild = fc.record({
      stay_id: fc.string(),
      first_careunit: fc.constantFrom(...CARE_UNITS),
      label_inhospital_mortality: fc.constantFrom(0 as const, 1 as const),
      features: fc.dictionary(fc.constantFrom(...NUMERIC_FEATURES), extreme),
    });
    fc.assert(
      fc.property(
        fc.array(wild, { minLength: 1, maxLength: 20 }),
        fc.array(wild, { maxLength: 20 }),
        (fitRows, rows) => {
          const p = fitPreprocessor(fitRows);
          const m = transformRecords(p, rows);
          const bad = m.features.filter((v) => !Number.isFinite(v) || Math.abs(v) > p.clipZ);
          expect(bad.length).toBe(0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('uses scale 1 for a constant column and mean 0 for an all-missing one', () => {
    const rows = train.slice(0, 50).map((r) => ({
      ...r,
      features: { ...r.features, age: 60, urineoutput: null },
    }));
    const p = fitPreprocessor(rows);
    const age = p.numeric.find((c) => c.name === 'age');
    const urine = p.numeric.find((c) => c.name === 'urineoutput');
    expect(age).toMatchObject({ mean: 60, std: 1 });
    expect(urine).toMatchObject({ mean: 0, std: 1, imputation: 0 });
  });
});

describe('PreprocessorSchema', () => {
  const preprocessor = fitPreprocessor(train);

  it('accepts a preprocessor after a JSON round trip', () => {
    const loaded = PreprocessorSchema.parse(JSON.parse(JSON.stringify(preprocessor)));
    expect(loaded).toEqual(preprocessor);
    expect(transformRecords(loaded, train.slice(0, 5))).toEqual(
      transformRecords(preprocessor, train.slice(0, 5)),
    );
  });

  it('rejects inconsistent or malformed files', () => {
    const bad = [
      { ...preprocessor, featureNames: preprocessor.featureNames.slice(1) },
      { ...preprocessor, numeric: preprocessor.numeric.map((c, j) => (j === 0 ? { ...c, std: 0 } : c)) },
      {
        ...preprocessor,
        numeric: preprocessor.numeric.map((c, j) => (j === 0 ? { ...c, transform: { kind: 'sqrt' } } : c)),
      },
      { ...preprocessor, careUnits: ['MICU', 'ER'] },
      { ...preprocessor, missingnessIndicators: ['not_a_feature'] },
      { ...preprocessor, version: 2 },
    ];
    for (const candidate of bad) expect(PreprocessorSchema.safeParse(candidate).success).toBe(false);
    expect(() => transformRecords({ ...preprocessor, featureNames: [] }, train)).toThrow(PreprocessingError);
  });
});
