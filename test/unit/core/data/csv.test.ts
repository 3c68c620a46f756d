import {
  COHORT_CSV_COLUMNS,
  CohortFormatError,
  NUMERIC_FEATURES,
  cohortToCsv,
  generateCohort,
  parseCohortCsv,
  type CohortRecord,
} from '../../../../src/core/data';

const records: CohortRecord[] = generateCohort({ hospitals: 2, patients: 200, seed: 5 }).hospitals[0].train;

/** A valid CSV with one stay; `edit` changes cells by column name. */
function oneRow(edit: Record<string, string> = {}, drop: string[] = []): string {
  const columns = COHORT_CSV_COLUMNS.filter((c) => !drop.includes(c));
  const base: Record<string, string> = Object.fromEntries(NUMERIC_FEATURES.map((f) => [f, '1']));
  Object.assign(base, { stay_id: '30000001', first_careunit: 'MICU', label_inhospital_mortality: '0' }, edit);
  return `${columns.join(',')}\n${columns.map((c) => base[c] ?? '').join(',')}\n`;
}

function errorOf(fn: () => unknown): CohortFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CohortFormatError);
    return e as CohortFormatError;
  }
  throw new Error('expected a CohortFormatError');
}

describe('cohortToCsv / parseCohortCsv', () => {
  it('round-trips records, including missing values', () => {
    const text = cohortToCsv(records);
    expect(text.split('\n')[0]).toBe(COHORT_CSV_COLUMNS.join(','));
    expect(text).toMatch(/,,/); // some lactate/bilirubin cells are empty
    expect(records.some((r) => r.features.lactate_max === null)).toBe(true);
    expect(parseCohortCsv(text, 'h1.train.csv')).toEqual(records);
  });

  it('writes the header order stay_id, features, first_careunit, label', () => {
    expect(COHORT_CSV_COLUMNS[0]).toBe('stay_id');
    expect(COHORT_CSV_COLUMNS.slice(1, -2)).toEqual(NUMERIC_FEATURES);
    expect(COHORT_CSV_COLUMNS.slice(-2)).toEqual(['first_careunit', 'label_inhospital_mortality']);
  });

  it('ignores unknown columns, accepts CRLF, quotes, MIMIC-IV unit names and gender instead of is_male', () => {
    const columns = ['extra', ...COHORT_CSV_COLUMNS.filter((c) => c !== 'is_male'), 'gender'];
    const cells = (unit: string, gender: string, id: string): string =>
      columns
        .map((c) =>
          c === 'extra'
            ? '"a, ""quoted"" note"'
            : c === 'stay_id'
              ? id
              : c === 'first_careunit'
                ? unit
                : c === 'gender'
                  ? gender
                  : c === 'label_inhospital_mortality' || c === 'gcs_unable'
                    ? '1'
                    : '2.5',
        )
        .join(',');
    const text = [
      columns.join(','),
      cells('"Cardiac Vascular Intensive Care Unit (CVICU)"', 'M', '1'),
      cells('Neuro Stepdown', 'F', '2'),
      '',
    ].join('\r\n');
    const parsed = parseCohortCsv(text, 'export.csv');
    expect(parsed.map((r) => [r.first_careunit, r.features.is_male, r.label_inhospital_mortality])).toEqual([
      ['CVICU', 1, 1],
      ['Neuro', 0, 1],
    ]);
    expect(parsed[0].features.lactate_max).toBe(2.5);
  });

  it('reads prediction inputs without a label when requireLabel is false', () => {
    const text = oneRow({}, ['label_inhospital_mortality']);
    expect(parseCohortCsv(text, 'new.csv', { requireLabel: false })[0].label_inhospital_mortality).toBe(0);
    expect(errorOf(() => parseCohortCsv(text, 'new.csv')).message).toBe(
      "new.csv: missing column(s) 'label_inhospital_mortality'",
    );
  });

  describe('errors name the source, the line and the column', () => {
    it('missing columns', () => {
      const e = errorOf(() =>
        parseCohortCsv(oneRow({}, ['bun_max', 'label_inhospital_mortality']), 'h1.train.csv'),
      );
      expect(e.message).toBe("h1.train.csv: missing column(s) 'bun_max', 'label_inhospital_mortality'");
    });

    it('a non-numeric value', () => {
      const rows = cohortToCsv(records.slice(0, 20)).split('\n');
      const header = rows[0].split(',');
      const cells = rows[16].split(',');
      cells[header.indexOf('lactate_max')] = 'abc';
      rows[16] = cells.join(',');
      const e = errorOf(() => parseCohortCsv(rows.join('\n'), 'h1.train.csv'));
      expect(e.message).toBe(
        "h1.train.csv line 17: column 'lactate_max' has 'abc', expected a number or an empty cell",
      );
      expect(e).toMatchObject({ source: 'h1.train.csv', line: 17, column: 'lactate_max' });
    });

    it.each([['2'], ['yes'], ['0.5'], ['']])('a bad label %p', (label) => {
      const e = errorOf(() => parseCohortCsv(oneRow({ label_inhospital_mortality: label }), 'h1.csv'));
      expect(e.message).toBe(
        `h1.csv line 2: column 'label_inhospital_mortality' has '${label}', expected 0 or 1`,
      );
    });

    it('an unknown care unit', () => {
      const e = errorOf(() => parseCohortCsv(oneRow({ first_careunit: 'ER' }), 'h1.csv'));
      expect(e.message).toMatch(
        /^h1\.csv line 2: column 'first_careunit' has 'ER', expected one of 'MICU', 'MICU\/SICU'/,
      );
    });

    it('an empty file', () => {
      expect(errorOf(() => parseCohortCsv('', 'h1.csv')).message).toBe(
        "h1.csv: the file is empty; expected a header row starting with 'stay_id'",
      );
      expect(errorOf(() => parseCohortCsv('\n\n', 'h1.csv')).message).toMatch(/the file is empty/);
    });

    it('a header-only file has no stays', () => {
      expect(parseCohortCsv(`${COHORT_CSV_COLUMNS.join(',')}\n`, 'h1.csv')).toEqual([]);
    });

    it('a row with the wrong number of cells', () => {
      const text = `${oneRow()}1,2,3\n`;
      expect(errorOf(() => parseCohortCsv(text, 'h1.csv')).message).toBe(
        `h1.csv line 3: has 3 cells, expected ${COHORT_CSV_COLUMNS.length} (one per header column)`,
      );
    });

    it('a repeated or empty stay_id', () => {
      const text = oneRow();
      const repeated = text + text.split('\n')[1] + '\n';
      expect(errorOf(() => parseCohortCsv(repeated, 'h1.csv')).message).toBe(
        "h1.csv line 3: column 'stay_id' repeats '30000001' from line 2; each stay appears once",
      );
      expect(errorOf(() => parseCohortCsv(oneRow({ stay_id: '' }), 'h1.csv')).message).toBe(
        "h1.csv line 2: column 'stay_id' is empty, expected a stay identifier",
      );
    });

    it('a non-binary flag, a bad gender, an unclosed quote', () => {
      expect(errorOf(() => parseCohortCsv(oneRow({ gcs_unable: '2' }), 'h1.csv')).message).toBe(
        "h1.csv line 2: column 'gcs_unable' has '2', expected 0, 1 or an empty cell",
      );
      const withGender = oneRow({}, ['is_male'])
        .replace('first_careunit', 'first_careunit,gender')
        .replace('MICU', 'MICU,X');
      expect(errorOf(() => parseCohortCsv(withGender, 'h1.csv')).message).toBe(
        "h1.csv line 2: column 'gender' has 'X', expected 'M', 'F' or an empty cell",
      );
      expect(errorOf(() => parseCohortCsv(`${oneRow()}"3000,`, 'h1.csv')).message).toBe(
        'h1.csv line 3: a quoted cell is never closed',
      );
    });
  });
});
