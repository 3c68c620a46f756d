/**
 * The Warehouse contract, shared by every adapter (embedded DuckDB here; BigQuery later). Each
 * test writes under its own random run id, so a shared dataset needs no cleanup between tests.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { TableDefinition } from '../../schemas/warehouse';
import type { Warehouse } from '../../src/ports/warehouse';

export interface WarehouseFixture {
  warehouse: Warehouse;
  cleanup(): Promise<void>;
}

const SampleRowSchema = z.object({
  runId: z.string(),
  round: z.number().int(),
  score: z.number().nullable(),
  ok: z.boolean(),
  details: z.array(z.object({ code: z.string() })),
  time: z.iso.datetime({ offset: true }),
});
type SampleRow = z.infer<typeof SampleRowSchema>;

export const SAMPLE_TABLE: TableDefinition<SampleRow> = {
  name: 'contract_sample',
  description: 'rows of the warehouse contract test',
  columns: {
    runId: { type: 'STRING', nullable: false },
    round: { type: 'INT64', nullable: false },
    score: { type: 'FLOAT64', nullable: true },
    ok: { type: 'BOOL', nullable: false },
    details: { type: 'JSON', nullable: false },
    time: { type: 'TIMESTAMP', nullable: false },
  },
  key: ['runId', 'round'],
  row: SampleRowSchema,
};

const rowOf = (runId: string, round: number, score: number | null = 0.5): SampleRow => ({
  runId,
  round,
  score,
  ok: round % 2 === 0,
  details: [{ code: `c${round}` }],
  time: new Date(Date.UTC(2025, 0, 1, 0, round)).toISOString(),
});

export function describeWarehouseContract(
  name: string,
  makeWarehouse: () => Promise<WarehouseFixture>,
): void {
  describe(`Warehouse contract: ${name}`, () => {
    let fixture: WarehouseFixture;
    let warehouse: Warehouse;
    let runId: string;

    beforeEach(async () => {
      fixture = await makeWarehouse();
      warehouse = fixture.warehouse;
      runId = `contract-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    test('rows come back as written: JSON, booleans, nulls, integers and timestamps', async () => {
      const rows = [rowOf(runId, 1, null), rowOf(runId, 2, 0.25)];
      expect(await warehouse.insert(SAMPLE_TABLE, rows)).toBe(2);
      expect(await warehouse.query(SAMPLE_TABLE, { where: { runId }, orderBy: 'round' })).toEqual(rows);
    });

    test('a table is created on first use: querying an unused table gives no rows', async () => {
      expect(await warehouse.query(SAMPLE_TABLE, { where: { runId } })).toEqual([]);
    });

    test('a row whose key exists is not inserted again', async () => {
      expect(await warehouse.insert(SAMPLE_TABLE, [rowOf(runId, 1)])).toBe(1);
      expect(await warehouse.insert(SAMPLE_TABLE, [rowOf(runId, 1, 0.9), rowOf(runId, 2)])).toBe(1);
      const rows = await warehouse.query(SAMPLE_TABLE, { where: { runId }, orderBy: 'round' });
      expect(rows.map((r) => [r.round, r.score])).toEqual([
        [1, 0.5],
        [2, 0.5],
      ]);
    });

    test('filters combine, order can descend, limit cuts', async () => {
      const other = `${runId}-other`;
      await warehouse.insert(
        SAMPLE_TABLE,
        [1, 2, 3, 4].map((r) => rowOf(runId, r)),
      );
      await warehouse.insert(SAMPLE_TABLE, [rowOf(other, 1)]);
      const even = await warehouse.query(SAMPLE_TABLE, { where: { runId, ok: true }, orderBy: 'round' });
      expect(even.map((r) => r.round)).toEqual([2, 4]);
      const latest = await warehouse.query(SAMPLE_TABLE, {
        where: { runId },
        orderBy: 'time',
        descending: true,
        limit: 2,
      });
      expect(latest.map((r) => r.round)).toEqual([4, 3]);
      expect(await warehouse.query(SAMPLE_TABLE, { where: { runId, score: null } })).toEqual([]);
    });

    test('a row that does not match the schema is refused and nothing is written', async () => {
      const bad = { ...rowOf(runId, 1), round: 1.5 } as SampleRow;
      await expect(warehouse.insert(SAMPLE_TABLE, [rowOf(runId, 2), bad])).rejects.toThrow();
      expect(await warehouse.query(SAMPLE_TABLE, { where: { runId } })).toEqual([]);
    });

    test('an unknown column in a filter or order is an error, not an empty result', async () => {
      await expect(
        warehouse.query(SAMPLE_TABLE, { where: { nope: 1 } as unknown as { runId: string } }),
      ).rejects.toThrow(/no column nope/);
      await expect(warehouse.query(SAMPLE_TABLE, { orderBy: 'nope' as unknown as 'runId' })).rejects.toThrow(
        /no column nope/,
      );
    });
  });
}
