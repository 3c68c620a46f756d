import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  PRIVACY_AUDIT_TABLE,
  RUN_PROGRESS_TABLE,
  WAREHOUSE_TABLES,
  type TableDefinition,
} from '../../../schemas/warehouse';
import { EmbeddedDatabase, EmbeddedWarehouse } from '../../../src/adapters/embedded';
import { describeWarehouseContract, SAMPLE_TABLE } from '../../contract/warehouse.contract';

describeWarehouseContract('embedded (DuckDB)', async () => {
  const database = await EmbeddedDatabase.open(':memory:');
  return { warehouse: new EmbeddedWarehouse(database), cleanup: () => database.close() };
});

describe('EmbeddedWarehouse', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'himas-warehouse-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps rows in the database file across reopening, beside the documents', async () => {
    const file = path.join(dir, 'himas.duckdb');
    const row = {
      runId: 'r1',
      round: 1,
      score: 1,
      ok: true,
      details: [],
      time: '2025-01-01T00:00:00.000Z',
    };
    let database = await EmbeddedDatabase.open(file);
    await new EmbeddedWarehouse(database).insert(SAMPLE_TABLE, [row]);
    await database.close();
    database = await EmbeddedDatabase.open(file);
    expect(await new EmbeddedWarehouse(database).query(SAMPLE_TABLE)).toEqual([row]);
    const tables = await database.all<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'warehouse_%'",
    );
    expect(tables.map((t) => t.name)).toEqual(['warehouse_contract_sample']);
    await database.close();
  });

  it('creates the agents’ tables from their definitions', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    const warehouse = new EmbeddedWarehouse(database);
    for (const table of WAREHOUSE_TABLES)
      expect(await warehouse.query(table as TableDefinition<Record<string, unknown>>)).toEqual([]);
    const columns = await database.all<{ column_name: string; is_nullable: string }>(
      "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'warehouse_privacy_audit' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => c.column_name)).toEqual(Object.keys(PRIVACY_AUDIT_TABLE.columns));
    // Every field of the row schema has a column, and no column is without a field.
    for (const table of [PRIVACY_AUDIT_TABLE, RUN_PROGRESS_TABLE]) {
      const shape = (table.row as unknown as { shape: Record<string, unknown> }).shape;
      expect(Object.keys(table.columns).sort()).toEqual(Object.keys(shape).sort());
    }
    await database.close();
  });

  it('refuses a table name that is not a plain identifier', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    const warehouse = new EmbeddedWarehouse(database);
    await expect(warehouse.query({ ...SAMPLE_TABLE, name: 'x; DROP TABLE documents' })).rejects.toThrow(
      /bad warehouse table name/,
    );
    await database.close();
  });
});
