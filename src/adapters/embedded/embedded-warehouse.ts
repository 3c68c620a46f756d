import type { ColumnType, TableDefinition } from '../../../schemas/warehouse';
import type { Warehouse, WarehouseQuery } from '../../ports/warehouse';
import type { EmbeddedDatabase, SqlValue } from './embedded-database';
import { OncePerKey } from '../once-per-key';

/**
 * The Warehouse on the embedded DuckDB file: table `<name>` becomes `warehouse_<name>`, created
 * from its definition on first use (the prefix keeps it apart from the documents and bus tables).
 * JSON columns hold JSON text; TIMESTAMP columns hold the ISO-8601 UTC text the rows carry, which
 * sorts in time order and needs no time-zone handling. The key is the primary key, and inserts are
 * INSERT OR IGNORE, so a row written twice is stored once.
 */
const SQL_TYPE: Record<ColumnType, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'VARCHAR',
  JSON: 'VARCHAR',
};

const TABLE_NAME = /^[a-z][a-z0-9_]*$/;
const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

export class EmbeddedWarehouse implements Warehouse {
  private readonly created = new OncePerKey();

  constructor(private readonly database: EmbeddedDatabase) {}

  async insert<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    rows: readonly Row[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    const parsed = rows.map((row) => table.row.parse(row));
    await this.ensureTable(table);
    const columns = columnsOf(table);
    const placeholders = columns.map((_, i) => `$${i + 1}`).join(', ');
    const sql = `INSERT OR IGNORE INTO ${sqlTable(table)} (${columns.map(quote).join(', ')}) VALUES (${placeholders})`;
    return this.database.transaction(async (tx) => {
      let inserted = 0;
      for (const row of parsed) {
        inserted += await tx.run(
          sql,
          columns.map((c) => toSql(table.columns[c].type, row[c])),
        );
      }
      return inserted;
    });
  }

  async query<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    query: WarehouseQuery<Row> = {},
  ): Promise<Row[]> {
    if (this.database.readOnly) {
      if (!(await this.tableExists(table))) return [];
    } else await this.ensureTable(table);
    const columns = columnsOf(table);
    const known = (column: string): string => {
      if (!columns.includes(column)) throw new Error(`table ${table.name} has no column ${column}`);
      return quote(column);
    };
    const params: SqlValue[] = [];
    const conditions = Object.entries(query.where ?? {}).map(([column, value]) => {
      if (value === null) return `${known(column)} IS NULL`;
      params.push(value as SqlValue);
      return `${known(column)} = $${params.length}`;
    });
    const order = query.orderBy
      ? ` ORDER BY ${known(query.orderBy)} ${query.descending ? 'DESC' : 'ASC'}`
      : '';
    if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 0))
      throw new Error(`limit must be a non-negative integer, got ${query.limit}`);
    const limit = query.limit === undefined ? '' : ` LIMIT ${query.limit}`;
    const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
    const rows = await this.database.all(`SELECT * FROM ${sqlTable(table)}${where}${order}${limit}`, params);
    return rows.map((raw) => {
      const row: Record<string, unknown> = {};
      for (const column of columns) row[column] = fromSql(table.columns[column].type, raw[column]);
      return table.row.parse(row);
    });
  }

  private ensureTable<Row extends Record<string, unknown>>(table: TableDefinition<Row>): Promise<void> {
    return this.created.run(table.name, () => this.createTable(table));
  }

  /** A read-only database cannot create a table: one no agent wrote to yet reads as empty. */
  private async tableExists(table: { name: string }): Promise<boolean> {
    const rows = await this.database.all<{ n: number | bigint }>(
      "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = $1 AND schema_name = 'main'",
      [`warehouse_${table.name}`],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  private async createTable<Row extends Record<string, unknown>>(table: TableDefinition<Row>): Promise<void> {
    if (!TABLE_NAME.test(table.name)) throw new Error(`bad warehouse table name '${table.name}'`);
    const columns = columnsOf(table).map((c) => {
      const { type, nullable } = table.columns[c];
      return `${quote(c)} ${SQL_TYPE[type]}${nullable ? '' : ' NOT NULL'}`;
    });
    const key = table.key.length > 0 ? `, PRIMARY KEY (${table.key.map(quote).join(', ')})` : '';
    await this.database.run(`CREATE TABLE IF NOT EXISTS ${sqlTable(table)} (${columns.join(', ')}${key})`);
  }
}

function sqlTable(table: { name: string }): string {
  return quote(`warehouse_${table.name}`);
}

function columnsOf<Row extends Record<string, unknown>>(table: TableDefinition<Row>): (keyof Row & string)[] {
  return Object.keys(table.columns) as (keyof Row & string)[];
}

function toSql(type: ColumnType, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (type === 'JSON') return JSON.stringify(value);
  if (type === 'FLOAT64' && typeof value === 'number' && !Number.isFinite(value))
    throw new Error(`a FLOAT64 column cannot hold ${value}; store null for ∞`);
  return value as SqlValue;
}

function fromSql(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'JSON') return JSON.parse(String(value));
  if (type === 'INT64' || type === 'FLOAT64') return Number(value);
  return value;
}
