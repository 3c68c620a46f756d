import type { BigQuery } from '@google-cloud/bigquery';
import type { ColumnType, TableDefinition } from '../../../schemas/warehouse';
import type { Warehouse, WarehouseQuery } from '../../ports/warehouse';
import { httpStatusOf } from './http-status';
import { OncePerKey } from '../once-per-key';

/**
 * The Warehouse on BigQuery (dataset `himas_agents` in the cloud, terraform/contract.tf
 * `warehouse_dataset`). Rows are written with one DML MERGE per insert call, not with streaming
 * inserts: the port promises that a redelivered event writes one row, and a MERGE checks the key
 * and inserts in one atomic statement whose result is visible to the very next query. Streaming
 * `insertAll` deduplicates by insertId only best-effort and for about a minute, its rows sit in a
 * streaming buffer that later DML cannot touch, and a key check before it would race with the
 * buffer. Two deliveries of the same event at the same instant can still both insert (BigQuery
 * runs INSERT-only MERGEs concurrently), so reads return one row per key (QUALIFY) as well. Every
 * value reaches BigQuery as a query parameter; only identifiers checked against the table
 * definition are spliced into the SQL.
 */
export interface BigQueryWarehouseOptions {
  projectId: string;
  /** Dataset holding the tables; default `himas_agents`. */
  dataset?: string;
  /** BigQuery location of the dataset (e.g. `EU`); jobs run there. */
  location?: string;
}

export const DEFAULT_WAREHOUSE_DATASET = 'himas_agents';

/** A table's BigQuery schema fields, in column order (the same as scripts/warehouse-schema.ts). */
export function bigQueryFields<Row extends Record<string, unknown>>(
  table: TableDefinition<Row>,
): { name: string; type: ColumnType; mode: 'REQUIRED' | 'NULLABLE' }[] {
  return columnsOf(table).map((name) => ({
    name,
    type: table.columns[name].type,
    mode: table.columns[name].nullable ? 'NULLABLE' : 'REQUIRED',
  }));
}

const TABLE_NAME = /^[a-z][a-z0-9_]*$/;
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATASET_NAME = /^[A-Za-z0-9_]{1,1024}$/;
const PROJECT_ID = /^[a-z][a-z0-9.:-]*[a-z0-9]$/;
/** Matches `Date.prototype.toISOString`, the form the rows carry. */
const ISO_FORMAT = '%Y-%m-%dT%H:%M:%E3SZ';

/** The type a value of each column has as a query parameter (TIMESTAMP and JSON travel as text). */
const PARAMETER_TYPE: Record<ColumnType, string> = {
  STRING: 'STRING',
  INT64: 'INT64',
  FLOAT64: 'FLOAT64',
  BOOL: 'BOOL',
  TIMESTAMP: 'STRING',
  JSON: 'STRING',
};

export class BigQueryWarehouse implements Warehouse {
  private readonly created = new OncePerKey();
  private readonly dataset: string;

  constructor(
    private readonly bigquery: BigQuery,
    private readonly options: BigQueryWarehouseOptions,
  ) {
    this.dataset = options.dataset ?? DEFAULT_WAREHOUSE_DATASET;
    if (!PROJECT_ID.test(options.projectId)) throw new Error(`bad project id '${options.projectId}'`);
    if (!DATASET_NAME.test(this.dataset)) throw new Error(`bad BigQuery dataset '${this.dataset}'`);
  }

  async insert<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    rows: readonly Row[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    // Validate everything before writing anything: a bad row refuses the whole call.
    const parsed = uniqueByKey(
      table,
      rows.map((row) => table.row.parse(row)),
    );
    const columns = columnsOf(table);
    const values = parsed.map((row) =>
      Object.fromEntries(columns.map((c) => [c, toParameter(table, c, row[c])])),
    );
    await this.ensureTable(table);
    const source = columns.map(
      (c) => `${fromParameter(table.columns[c].type, `r.${quote(c)}`)} AS ${quote(c)}`,
    );
    const match =
      table.key.length > 0
        ? table.key.map((k) => `target.${quote(k)} IS NOT DISTINCT FROM source.${quote(k)}`).join(' AND ')
        : 'FALSE';
    const sql = [
      `MERGE ${this.tablePath(table)} AS target`,
      `USING (SELECT ${source.join(', ')} FROM UNNEST(@rows) AS r) AS source`,
      `ON ${match}`,
      `WHEN NOT MATCHED THEN INSERT (${columns.map(quote).join(', ')})`,
      `VALUES (${columns.map((c) => `source.${quote(c)}`).join(', ')})`,
    ].join('\n');
    const types = {
      rows: [Object.fromEntries(columns.map((c) => [c, PARAMETER_TYPE[table.columns[c].type]]))],
    };
    const { response } = await this.run(sql, { rows: values }, types);
    const affected = Number(response.numDmlAffectedRows ?? NaN);
    if (!Number.isInteger(affected))
      throw new Error(`BigQuery did not report the rows a MERGE into ${table.name} inserted`);
    return affected;
  }

  async query<Row extends Record<string, unknown>>(
    table: TableDefinition<Row>,
    query: WarehouseQuery<Row> = {},
  ): Promise<Row[]> {
    const columns = columnsOf(table);
    const known = (column: string): ColumnType => {
      if (!(columns as string[]).includes(column))
        throw new Error(`table ${table.name} has no column ${column}`);
      return table.columns[column as keyof Row & string].type;
    };
    const params: Record<string, unknown> = {};
    const types: Record<string, string> = {};
    const conditions = Object.entries(query.where ?? {}).map(([column, value], i) => {
      const type = known(column);
      if (value === null) return `${quote(column)} IS NULL`;
      if (type === 'JSON') throw new Error(`table ${table.name}: cannot filter on JSON column ${column}`);
      const name = `p${i}`;
      params[name] = value;
      types[name] = PARAMETER_TYPE[type];
      return `${quote(column)} = ${fromParameter(type, `@${name}`)}`;
    });
    if (query.orderBy !== undefined) known(query.orderBy);
    if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 0))
      throw new Error(`limit must be a non-negative integer, got ${query.limit}`);
    await this.ensureTable(table);
    const select = columns.map((c) => `${toText(table.columns[c].type, quote(c))} AS ${quote(c)}`);
    // QUALIFY needs a WHERE clause in BigQuery; `TRUE` is the one without filters.
    const lines = [
      `SELECT ${select.join(', ')}`,
      `FROM ${this.tablePath(table)}`,
      `WHERE ${conditions.length === 0 ? 'TRUE' : conditions.join(' AND ')}`,
    ];
    if (table.key.length > 0)
      lines.push(`QUALIFY ROW_NUMBER() OVER (PARTITION BY ${table.key.map(quote).join(', ')}) = 1`);
    if (query.orderBy !== undefined)
      lines.push(`ORDER BY ${quote(query.orderBy)} ${query.descending ? 'DESC' : 'ASC'}`);
    if (query.limit !== undefined) {
      params.limit = query.limit;
      types.limit = 'INT64';
      lines.push('LIMIT @limit');
    }
    const { rows } = await this.run(lines.join('\n'), params, types);
    return rows.map((raw, i) => {
      const row: Record<string, unknown> = {};
      for (const column of columns) row[column] = fromResult(table.columns[column].type, raw[column]);
      const checked = table.row.safeParse(row);
      if (!checked.success)
        throw new Error(
          `${this.tablePath(table)} row ${i + 1} does not match the table's schema: ${checked.error.issues
            .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
            .join('; ')}`,
        );
      return checked.data;
    });
  }

  /** Runs a query job and waits for it; the response carries numDmlAffectedRows for DML. */
  private async run(
    query: string,
    params: Record<string, unknown>,
    types: Record<string, unknown>,
  ): Promise<{ rows: Record<string, unknown>[]; response: { numDmlAffectedRows?: string } }> {
    const [job] = await this.bigquery.createQueryJob({
      query,
      params,
      types: types as never,
      location: this.options.location,
      useLegacySql: false,
    });
    const [rows, , response] = await job.getQueryResults({ autoPaginate: true });
    return {
      rows: rows as Record<string, unknown>[],
      response: (response ?? {}) as { numDmlAffectedRows?: string },
    };
  }

  /**
   * Terraform creates the tables in the cloud (partitioned, clustered, writable only by their
   * agent, which may not create tables): look first, create only what is missing (dev projects).
   */
  private ensureTable<Row extends Record<string, unknown>>(table: TableDefinition<Row>): Promise<void> {
    return this.created.run(table.name, () => this.createTable(table));
  }

  private async createTable<Row extends Record<string, unknown>>(table: TableDefinition<Row>): Promise<void> {
    if (!TABLE_NAME.test(table.name)) throw new Error(`bad warehouse table name '${table.name}'`);
    for (const column of columnsOf(table))
      if (!COLUMN_NAME.test(column)) throw new Error(`table ${table.name}: bad column name '${column}'`);
    const handle = this.bigquery
      .dataset(this.dataset, { projectId: this.options.projectId })
      .table(table.name);
    try {
      await handle.getMetadata();
      return;
    } catch (error) {
      if (httpStatusOf(error) !== 404) throw error;
    }
    const hasColumn = (name: string, type: ColumnType) =>
      (columnsOf(table) as string[]).includes(name) &&
      table.columns[name as keyof Row & string].type === type;
    try {
      // The layout Terraform gives the agents' tables (terraform/main.tf google_bigquery_table.warehouse).
      await handle.create({
        schema: { fields: bigQueryFields(table) },
        description: table.description,
        ...(hasColumn('time', 'TIMESTAMP') ? { timePartitioning: { type: 'DAY', field: 'time' } } : {}),
        ...(hasColumn('runId', 'STRING') ? { clustering: { fields: ['runId'] } } : {}),
      });
    } catch (error) {
      if (httpStatusOf(error) !== 409) throw error; // created meanwhile by another instance
    }
  }

  private tablePath(table: { name: string }): string {
    return `\`${this.options.projectId}.${this.dataset}.${table.name}\``;
  }
}

function columnsOf<Row extends Record<string, unknown>>(table: TableDefinition<Row>): (keyof Row & string)[] {
  return Object.keys(table.columns) as (keyof Row & string)[];
}

function quote(identifier: string): string {
  if (!COLUMN_NAME.test(identifier)) throw new Error(`bad column name '${identifier}'`);
  return `\`${identifier}\``;
}

/** Keeps the first row of each key, as INSERT OR IGNORE does within one statement. */
function uniqueByKey<Row extends Record<string, unknown>>(table: TableDefinition<Row>, rows: Row[]): Row[] {
  if (table.key.length === 0) return rows;
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = JSON.stringify(table.key.map((k) => row[k] ?? null));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toParameter<Row extends Record<string, unknown>>(
  table: TableDefinition<Row>,
  column: keyof Row & string,
  value: unknown,
): unknown {
  if (value === null || value === undefined) return null;
  const type = table.columns[column].type;
  if (type === 'JSON') return JSON.stringify(value);
  if (type === 'FLOAT64' && typeof value === 'number' && !Number.isFinite(value))
    throw new Error(`${table.name}.${column}: a FLOAT64 column cannot hold ${value}; store null for ∞`);
  return value;
}

/** SQL turning a parameter into the column's type. */
function fromParameter(type: ColumnType, expression: string): string {
  if (type === 'TIMESTAMP') return `TIMESTAMP(${expression})`;
  if (type === 'JSON') return `PARSE_JSON(${expression})`;
  return expression;
}

/** SQL reading a column back as the text the rows carry (ISO time, JSON text). */
function toText(type: ColumnType, expression: string): string {
  if (type === 'TIMESTAMP') return `FORMAT_TIMESTAMP('${ISO_FORMAT}', ${expression}, 'UTC')`;
  if (type === 'JSON') return `TO_JSON_STRING(${expression})`;
  return expression;
}

function fromResult(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'JSON') return JSON.parse(String(value));
  if (type === 'INT64' || type === 'FLOAT64') return Number(value);
  if (type === 'BOOL') return value === true || value === 'true';
  return value;
}
