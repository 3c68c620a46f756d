import type { TableDefinition } from '../../schemas/warehouse';

export type { ColumnType, TableDefinition } from '../../schemas/warehouse';

/** Equality filters on columns (a null value matches NULL), an order and a limit. */
export interface WarehouseQuery<Row extends Record<string, unknown>> {
  where?: Partial<{ [K in keyof Row & string]: string | number | boolean | null }>;
  orderBy?: keyof Row & string;
  descending?: boolean;
  limit?: number;
}

/**
 * Append-mostly analytical tables (BigQuery in the cloud, DuckDB locally). Tables are declared in
 * `schemas/warehouse.ts`; an adapter creates a table from its definition on first use.
 */
export interface Warehouse {
  /**
   * Validates and inserts rows. A row whose key (TableDefinition.key) already exists is skipped,
   * so a redelivered event writes one row. Resolves to the number of rows inserted.
   */
  insert<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    rows: readonly Row[],
  ): Promise<number>;
  /** Rows of a table matching every filter, validated against the row schema. */
  query<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    query?: WarehouseQuery<Row>,
  ): Promise<Row[]>;
}
