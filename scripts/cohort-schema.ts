import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CARE_UNIT_COLUMN,
  CARE_UNITS,
  COHORT_CSV_COLUMNS,
  ID_COLUMN,
  LABEL_COLUMN,
  NUMERIC_FEATURES,
} from '../src/core/data';

/**
 * The BigQuery schema of a hospital's cohort table, generated from the cohort columns in
 * src/core/data so the table and the CSV reader cannot drift apart (docs/architecture.md section 2).
 *
 *   node bin/run-ts.js scripts/cohort-schema.ts   # rewrites terraform/modules/hospital/cohort-schema.json
 *
 * test/infra/cohort-schema.test.ts fails while the committed file differs from this output.
 */
export const COHORT_SCHEMA_FILE = path.join(
  __dirname,
  '..',
  'terraform',
  'modules',
  'hospital',
  'cohort-schema.json',
);

export interface BigQueryField {
  name: string;
  type: 'STRING' | 'FLOAT64' | 'INT64';
  mode: 'REQUIRED' | 'NULLABLE';
  description: string;
}

const BINARY_FEATURES = new Set(['is_male', 'gcs_unable']);

function field(name: string): BigQueryField {
  if (name === ID_COLUMN)
    return {
      name,
      type: 'STRING',
      mode: 'REQUIRED',
      description: 'ICU stay id (MIMIC-IV icustays.stay_id as text)',
    };
  if (name === CARE_UNIT_COLUMN)
    return {
      name,
      type: 'STRING',
      mode: 'REQUIRED',
      description: `First care unit: ${CARE_UNITS.join(', ')} (or the MIMIC-IV long name)`,
    };
  if (name === LABEL_COLUMN)
    return {
      name,
      type: 'INT64',
      mode: 'REQUIRED',
      description: 'In-hospital mortality: 1 died, 0 survived',
    };
  if (NUMERIC_FEATURES.includes(name))
    return {
      name,
      type: 'FLOAT64',
      mode: 'NULLABLE',
      description: BINARY_FEATURES.has(name)
        ? 'First-24 h indicator, 0 or 1 (NULL = unknown)'
        : 'First-24 h value (NULL = not measured)',
    };
  throw new Error(`cohort column ${name} has no BigQuery type`);
}

export function cohortBigQuerySchema(): BigQueryField[] {
  return COHORT_CSV_COLUMNS.map(field);
}

export function cohortSchemaJson(): string {
  return `${JSON.stringify(cohortBigQuerySchema(), null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  writeFileSync(COHORT_SCHEMA_FILE, cohortSchemaJson());
  process.stdout.write(`wrote ${path.relative(process.cwd(), COHORT_SCHEMA_FILE)}\n`);
}
