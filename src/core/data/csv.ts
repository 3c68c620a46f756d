import { ADMITTIME_COLUMN, isoDateToDay, VASOPRESSOR_COLUMN } from './encounters';
import { CohortFormatError } from './errors';
import {
  CARE_UNIT_COLUMN,
  CARE_UNITS,
  ID_COLUMN,
  LABEL_COLUMN,
  NUMERIC_FEATURES,
  parseCareUnit,
  type CohortRecord,
} from './features';

/**
 * The cohort as CSV, the format hospitals hand to HIMAS: one row per ICU stay, the columns of the
 * extraction query (CLINICAL_DATA.md §2.5), NULL as an empty cell (as BigQuery exports it).
 */

/** Column order written by cohortToCsv. */
export const COHORT_CSV_COLUMNS: readonly string[] = [
  ID_COLUMN,
  ...NUMERIC_FEATURES,
  CARE_UNIT_COLUMN,
  LABEL_COLUMN,
];

/** The extraction SQL emits `gender` ('M'/'F'); it stands in for `is_male` when that column is absent. */
const GENDER_COLUMN = 'gender';
const BINARY_FEATURES = new Set(['is_male', 'gcs_unable']);
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Optional encounter columns (`admittime`, `vasopressor_day1`) follow the label, and are written
 * only when some record carries them, so files of records without them look as they always did.
 */
export function cohortToCsv(records: readonly CohortRecord[]): string {
  const withAdmittime = records.some((r) => r.admittime !== undefined);
  const withVasopressor = records.some((r) => r.vasopressor_day1 !== undefined);
  const header = [
    ...COHORT_CSV_COLUMNS,
    ...(withAdmittime ? [ADMITTIME_COLUMN] : []),
    ...(withVasopressor ? [VASOPRESSOR_COLUMN] : []),
  ];
  const lines = [header.join(',')];
  for (const record of records) {
    const cells = [
      quote(record.stay_id),
      ...NUMERIC_FEATURES.map((name) => {
        const value = record.features[name];
        return value === null || value === undefined || !Number.isFinite(value) ? '' : String(value);
      }),
      quote(record.first_careunit),
      String(record.label_inhospital_mortality),
      ...(withAdmittime ? [record.admittime ?? ''] : []),
      ...(withVasopressor
        ? [record.vasopressor_day1 === undefined ? '' : String(record.vasopressor_day1)]
        : []),
    ];
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

function quote(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export interface ParseCohortCsvOptions {
  /**
   * Default true. False for prediction inputs: the label column may be absent or empty, and such
   * rows get label 0, which means "unknown" and must not be used as an outcome.
   */
  requireLabel?: boolean;
}

/**
 * Reads a cohort CSV. Unknown extra columns are ignored; every problem is a CohortFormatError
 * naming `source`, the line and the column, so a hospital can fix its export without help.
 */
export function parseCohortCsv(
  text: string,
  source: string,
  options: ParseCohortCsvOptions = {},
): CohortRecord[] {
  const requireLabel = options.requireLabel ?? true;
  const rows = splitRows(text.replace(/^\uFEFF/, ''), source);
  const header = rows.shift();
  if (!header || header.cells.every((cell) => cell.trim() === '')) {
    throw new CohortFormatError(
      source,
      `the file is empty; expected a header row starting with '${ID_COLUMN}'`,
    );
  }
  const names = header.cells.map((cell) => cell.trim());
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    if (index.has(name))
      throw new CohortFormatError(source, `column '${name}' appears twice in the header`, header.line, name);
    index.set(name, i);
  });

  const required = [
    ID_COLUMN,
    ...NUMERIC_FEATURES,
    CARE_UNIT_COLUMN,
    ...(requireLabel ? [LABEL_COLUMN] : []),
  ];
  const missing = required.filter(
    (name) => !index.has(name) && !(name === 'is_male' && index.has(GENDER_COLUMN)),
  );
  if (missing.length > 0) {
    throw new CohortFormatError(source, `missing column(s) ${missing.map((name) => `'${name}'`).join(', ')}`);
  }

  const seen = new Map<string, number>();
  const records: CohortRecord[] = [];
  for (const row of rows) {
    if (row.cells.every((cell) => cell.trim() === '')) continue; // blank line
    if (row.cells.length !== names.length) {
      throw new CohortFormatError(
        source,
        `has ${row.cells.length} cells, expected ${names.length} (one per header column)`,
        row.line,
      );
    }
    const cell = (name: string): string | undefined => {
      const i = index.get(name);
      return i === undefined ? undefined : row.cells[i].trim();
    };
    const fail = (column: string, problem: string): never => {
      throw new CohortFormatError(source, `column '${column}' ${problem}`, row.line, column);
    };

    const stayId = cell(ID_COLUMN) ?? '';
    if (stayId === '') fail(ID_COLUMN, 'is empty, expected a stay identifier');
    const firstLine = seen.get(stayId);
    if (firstLine !== undefined)
      fail(ID_COLUMN, `repeats '${stayId}' from line ${firstLine}; each stay appears once`);
    seen.set(stayId, row.line);

    const features: Record<string, number | null> = {};
    for (const name of NUMERIC_FEATURES) {
      if (name === 'is_male' && !index.has('is_male')) {
        features[name] = parseGender(cell(GENDER_COLUMN) ?? '', fail);
        continue;
      }
      const raw = cell(name) ?? '';
      if (raw === '') {
        features[name] = null;
        continue;
      }
      if (!NUMBER_PATTERN.test(raw)) fail(name, `has '${raw}', expected a number or an empty cell`);
      const value = Number(raw);
      if (!Number.isFinite(value)) fail(name, `has '${raw}', expected a finite number or an empty cell`);
      if (BINARY_FEATURES.has(name) && value !== 0 && value !== 1)
        fail(name, `has '${raw}', expected 0, 1 or an empty cell`);
      features[name] = value;
    }

    const unitText = cell(CARE_UNIT_COLUMN) ?? '';
    const unit = parseCareUnit(unitText);
    if (unit === undefined) {
      fail(
        CARE_UNIT_COLUMN,
        `has '${unitText}', expected one of ${CARE_UNITS.map((u) => `'${u}'`).join(', ')} or a MIMIC-IV first_careunit name`,
      );
    }

    const labelText = cell(LABEL_COLUMN);
    let label: 0 | 1 = 0;
    if (labelText === '0' || labelText === '1') label = labelText === '1' ? 1 : 0;
    else if (labelText !== undefined && (requireLabel || labelText !== '')) {
      fail(LABEL_COLUMN, `has '${labelText}', expected 0 or 1`);
    }

    const record: CohortRecord = {
      stay_id: stayId,
      first_careunit: unit as (typeof CARE_UNITS)[number],
      label_inhospital_mortality: label,
      features,
    };
    // Optional encounter columns: absent column or empty cell = not known (field left absent).
    const admittime = cell(ADMITTIME_COLUMN);
    if (admittime !== undefined && admittime !== '') {
      // MIMIC-IV admittime is a datetime; the date part is what surveillance needs.
      const date = admittime.slice(0, 10);
      try {
        isoDateToDay(date);
      } catch {
        fail(ADMITTIME_COLUMN, `has '${admittime}', expected a date YYYY-MM-DD[ time] or an empty cell`);
      }
      record.admittime = date;
    }
    const vasopressor = cell(VASOPRESSOR_COLUMN);
    if (vasopressor !== undefined && vasopressor !== '') {
      if (vasopressor !== '0' && vasopressor !== '1')
        fail(VASOPRESSOR_COLUMN, `has '${vasopressor}', expected 0, 1 or an empty cell`);
      record.vasopressor_day1 = vasopressor === '1' ? 1 : 0;
    }
    records.push(record);
  }
  return records;
}

function parseGender(raw: string, fail: (column: string, problem: string) => never): number | null {
  const text = raw.toUpperCase();
  if (text === '') return null;
  if (text === 'M' || text === 'F') return text === 'M' ? 1 : 0;
  return fail(GENDER_COLUMN, `has '${raw}', expected 'M', 'F' or an empty cell`);
}

interface CsvRow {
  /** 1-based line on which the row starts. */
  line: number;
  cells: string[];
}

/** RFC 4180 rows: quoted cells may hold commas, doubled quotes and line breaks; CRLF or LF. */
function splitRows(text: string, source: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let rowLine = 1;
  let inQuotes = false;
  let quoteLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"') {
      inQuotes = true;
      quoteLine = line;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += c;
  }
  if (inQuotes) throw new CohortFormatError(source, 'a quoted cell is never closed', quoteLine);
  if (cell !== '' || cells.length > 0) {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
  }
  return rows;
}
