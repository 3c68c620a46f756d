import { createHash, randomUUID } from 'node:crypto';
import type { TableDefinition } from '../../../schemas/warehouse';
import type { DocumentStore } from '../../ports/document-store';
import type { Warehouse, WarehouseQuery } from '../../ports/warehouse';

/**
 * The Warehouse over any DocumentStore, for the emulator stack: BigQuery has no emulator, and the
 * embedded DuckDB warehouse is one process's file, while on the emulator stack every agent is its
 * own functions-framework process. The Firestore emulator is shared by all of them, so rows live
 * there, one document per row at `warehouse/{table}/rows/{id}`.
 *
 * The id is the SHA-256 hex of the row's key values (JSON), so any key (slashes, dots, long
 * strings) makes a valid Firestore id, and insert is a create per row: a row whose key exists is
 * skipped, also when two processes race on it. Queries read the whole table and filter, order and
 * limit in memory: fine for the agents' tables (a few rows per round), not for analytics at scale.
 * The cloud uses BigQuery, so this collection is kept out of schemas/documents.ts `paths` and
 * Terraform provisions nothing for it.
 */
const TABLE_NAME = /^[a-z][a-z0-9_]*$/;

export const warehouseRowsPath = (table: string): string => `warehouse/${table}/rows`;

export class DocumentWarehouse implements Warehouse {
  constructor(private readonly documents: DocumentStore) {}

  async insert<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    rows: readonly Row[],
  ): Promise<number> {
    const collection = rowsCollection(table);
    // Every row is validated before the first write, so a bad row leaves the table unchanged.
    const parsed = rows.map((row) => table.row.parse(row));
    let inserted = 0;
    for (const row of parsed) {
      if (await this.documents.create(`${collection}/${rowId(table, row)}`, row)) inserted += 1;
    }
    return inserted;
  }

  async query<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    query: WarehouseQuery<Row> = {},
  ): Promise<Row[]> {
    const collection = rowsCollection(table);
    const known = (column: string): string => {
      if (!Object.hasOwn(table.columns, column))
        throw new Error(`table ${table.name} has no column ${column}`);
      return column;
    };
    const filters = Object.entries(query.where ?? {}).map(
      ([column, value]) => [known(column), value] as const,
    );
    const orderBy = query.orderBy === undefined ? undefined : known(query.orderBy);
    if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 0))
      throw new Error(`limit must be a non-negative integer, got ${query.limit}`);

    const rows = (await this.documents.list(collection))
      .map((snapshot) => table.row.parse(withNulls(table, snapshot.data)))
      .filter((row) => filters.every(([column, value]) => (row[column] ?? null) === value));
    if (orderBy !== undefined) {
      const sign = query.descending ? -1 : 1;
      rows.sort((a, b) => compareValues(a[orderBy], b[orderBy], sign));
    }
    return query.limit === undefined ? rows : rows.slice(0, query.limit);
  }
}

function rowsCollection(table: { name: string }): string {
  if (!TABLE_NAME.test(table.name)) throw new Error(`bad warehouse table name '${table.name}'`);
  return warehouseRowsPath(table.name);
}

/** Deterministic per key; a table without a key keeps every row (as the SQL adapters do). */
function rowId<Row extends Record<string, unknown>>(table: TableDefinition<Row>, row: Row): string {
  if (table.key.length === 0) return randomUUID();
  const key = table.key.map((column) => row[column] ?? null);
  return createHash('sha256').update(JSON.stringify(key)).digest('hex');
}

/** Firestore drops undefined fields; a nullable column read back absent is NULL. */
function withNulls<Row extends Record<string, unknown>>(
  table: TableDefinition<Row>,
  data: Record<string, unknown>,
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const column of Object.keys(table.columns)) row[column] = data[column] ?? null;
  return row;
}

/** Numbers by value, strings by code unit (SQL's binary collation; ISO times sort in time order), NULLs last. */
function compareValues(a: unknown, b: unknown, sign: number): number {
  const aNull = a === null || a === undefined;
  const bNull = b === null || b === undefined;
  if (aNull || bNull) return aNull === bNull ? 0 : aNull ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return sign * (a - b);
  const x = typeof a === 'string' ? a : JSON.stringify(a);
  const y = typeof b === 'string' ? b : JSON.stringify(b);
  return sign * (x < y ? -1 : x > y ? 1 : 0);
}
