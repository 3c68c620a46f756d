import type { BigQuery } from '@google-cloud/bigquery';
import {
  CARE_UNIT_COLUMN,
  CARE_UNITS,
  CohortFormatError,
  COHORT_CSV_COLUMNS,
  ID_COLUMN,
  LABEL_COLUMN,
  NUMERIC_FEATURES,
  parseCareUnit,
  type CohortRecord,
} from '../../core/data';
import type { CohortSource } from '../../ports/cohort-source';

/**
 * A hospital's cohort from its own BigQuery table `<project>.himas_<hospital>.cohort` (Terraform
 * module hospital: dataset `himas_` + the id with '-' as '_', schema generated from the cohort
 * columns). The table holds every stay once, without a split column, so the split is a
 * deterministic hash of the stay id: a stay is in the test split when
 * `|FARM_FINGERPRINT(stay_id) mod 10000| < testFraction × 10000`. The same stay always lands in
 * the same split, on every run and every retry, and the two splits never overlap; the fraction is
 * a query parameter. Rows are validated like a CSV export, and every error names the table, the
 * row and the column.
 */
export interface BigQueryCohortSourceOptions {
  /** The project holding the hospitals' datasets. */
  projectId: string;
  /** BigQuery location of the datasets (e.g. `EU`). */
  location?: string;
  /** Share of stays held out for testing; default 0.25 (as `himas data generate`). */
  testFraction?: number;
}

const BINARY_FEATURES = new Set(['is_male', 'gcs_unable']);
const HOSPITAL_ID = /^[a-z0-9][a-z0-9-]*$/;
const BASIS = 10_000;

/** `himas_<id with '-' as '_'>` (terraform/contract.tf cohort_dataset_prefix). */
export function cohortDataset(hospitalId: string): string {
  if (!HOSPITAL_ID.test(hospitalId))
    throw new Error(`hospital id '${hospitalId}' is not lower-case letters, digits and '-'`);
  return `himas_${hospitalId.replace(/-/g, '_')}`;
}

export class BigQueryCohortSource implements CohortSource {
  private readonly testFraction: number;

  constructor(
    private readonly bigquery: BigQuery,
    private readonly options: BigQueryCohortSourceOptions,
  ) {
    this.testFraction = options.testFraction ?? 0.25;
    if (!(this.testFraction > 0 && this.testFraction < 1))
      throw new Error(`testFraction must be between 0 and 1 (exclusive), got ${this.testFraction}`);
  }

  async read(hospitalId: string, split: 'train' | 'test'): Promise<CohortRecord[]> {
    const table = `${this.options.projectId}.${cohortDataset(hospitalId)}.cohort`;
    const query = [
      `SELECT ${COHORT_CSV_COLUMNS.map((c) => `\`${c}\``).join(', ')}`,
      `FROM \`${table}\``,
      `WHERE (ABS(MOD(FARM_FINGERPRINT(\`${ID_COLUMN}\`), ${BASIS})) < @test_basis_points) = @is_test`,
      `ORDER BY \`${ID_COLUMN}\``,
    ].join('\n');
    let rows: Record<string, unknown>[];
    try {
      [rows] = (await this.bigquery.query({
        query,
        params: { test_basis_points: Math.round(this.testFraction * BASIS), is_test: split === 'test' },
        types: { test_basis_points: 'INT64', is_test: 'BOOL' },
        location: this.options.location,
      })) as [Record<string, unknown>[], ...unknown[]];
    } catch (error) {
      throw new Error(
        `cannot read the ${split} cohort of ${hospitalId} from ${table}: ${(error as Error).message}`,
      );
    }
    const firstRow = new Map<string, number>();
    return rows.map((row, i) => {
      const record = toRecord(row, `${table} (${split})`, i + 1);
      const earlier = firstRow.get(record.stay_id);
      if (earlier !== undefined)
        throw new CohortFormatError(
          `${table} (${split}) row ${i + 1}`,
          `column '${ID_COLUMN}' repeats '${record.stay_id}' from row ${earlier}; each stay appears once`,
          undefined,
          ID_COLUMN,
        );
      firstRow.set(record.stay_id, i + 1);
      return record;
    });
  }

  describe() {
    return { kind: 'bigquery' as const, location: `${this.options.projectId}.himas_<hospital>.cohort` };
  }
}

/** One table row as a CohortRecord, or a CohortFormatError naming the table, the row and the column. */
function toRecord(row: Record<string, unknown>, table: string, index: number): CohortRecord {
  const source = `${table} row ${index}`;
  const fail = (column: string, problem: string): never => {
    throw new CohortFormatError(source, `column '${column}' ${problem}`, undefined, column);
  };
  const stayId = row[ID_COLUMN];
  if (typeof stayId !== 'string' || stayId.trim() === '')
    fail(ID_COLUMN, `has ${show(stayId)}, expected a stay identifier`);
  const features: Record<string, number | null> = {};
  for (const name of NUMERIC_FEATURES) {
    const value = row[name];
    if (value === null || value === undefined) {
      features[name] = null;
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value))
      fail(name, `has ${show(value)}, expected a finite number or NULL`);
    if (BINARY_FEATURES.has(name) && value !== 0 && value !== 1)
      fail(name, `has ${show(value)}, expected 0, 1 or NULL`);
    features[name] = value as number;
  }
  const unitText = row[CARE_UNIT_COLUMN];
  const unit = typeof unitText === 'string' ? parseCareUnit(unitText) : undefined;
  if (unit === undefined)
    fail(
      CARE_UNIT_COLUMN,
      `has ${show(unitText)}, expected one of ${CARE_UNITS.map((u) => `'${u}'`).join(', ')} or a MIMIC-IV first_careunit name`,
    );
  const label = Number(row[LABEL_COLUMN]);
  if (row[LABEL_COLUMN] === null || (label !== 0 && label !== 1))
    fail(LABEL_COLUMN, `has ${show(row[LABEL_COLUMN])}, expected 0 or 1`);
  return {
    stay_id: (stayId as string).trim(),
    first_careunit: unit!,
    label_inhospital_mortality: label as 0 | 1,
    features,
  };
}

function show(value: unknown): string {
  return value === null || value === undefined ? 'NULL' : `'${String(value)}'`;
}
