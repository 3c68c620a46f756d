import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { WAREHOUSE_TABLES, type ColumnType } from '../schemas/warehouse';

/**
 * The BigQuery schemas of the agents' warehouse tables (dataset himas_agents), generated from
 * schemas/warehouse.ts so the tables and the rows the agents write cannot drift apart.
 *
 *   node bin/run-ts.js scripts/warehouse-schema.ts   # rewrites terraform/warehouse/<table>.json
 *
 * test/infra/deployment-files.test.ts fails while a committed file differs from this output.
 */
export const WAREHOUSE_SCHEMA_DIR = path.join(__dirname, '..', 'terraform', 'warehouse');

export interface WarehouseField {
  name: string;
  type: ColumnType;
  mode: 'REQUIRED' | 'NULLABLE';
}

export const warehouseSchemaFile = (table: string): string =>
  path.join(WAREHOUSE_SCHEMA_DIR, `${table}.json`);

/** table name => the JSON schema file's text. */
export function warehouseSchemaJson(): Record<string, string> {
  return Object.fromEntries(
    WAREHOUSE_TABLES.map((table) => {
      const fields: WarehouseField[] = Object.entries(table.columns).map(([name, column]) => ({
        name,
        type: column.type,
        mode: column.nullable ? 'NULLABLE' : 'REQUIRED',
      }));
      return [table.name, `${JSON.stringify(fields, null, 2)}\n`];
    }),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  for (const [table, json] of Object.entries(warehouseSchemaJson())) {
    writeFileSync(warehouseSchemaFile(table), json);
    process.stdout.write(`wrote ${path.relative(process.cwd(), warehouseSchemaFile(table))}\n`);
  }
}
