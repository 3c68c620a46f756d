/**
 * BigQueryWarehouse at the request level: the real @google-cloud/bigquery client talks to a
 * loopback fake of the REST API (fixtures/fake-bigquery-server.ts), which records what is sent and
 * answers in BigQuery's wire format. The Warehouse contract suite does not run here: it needs an
 * engine that executes GoogleSQL (MERGE over UNNEST of a STRUCT array, QUALIFY, FORMAT_TIMESTAMP),
 * and a fake that re-interpreted the adapter's own SQL would only test itself (src/adapters/gcp/README.md).
 */
import './fixtures/bigquery-transport-for-jest'; // first: before the client loads
import { BigQuery } from '@google-cloud/bigquery';
import {
  PRIVACY_AUDIT_TABLE,
  RUN_PROGRESS_TABLE,
  WAREHOUSE_TABLES,
  type PrivacyAuditRow,
  type TableDefinition,
} from '../../../schemas/warehouse';
import { warehouseSchemaJson } from '../../../scripts/warehouse-schema';
import { BigQueryWarehouse, bigQueryFields } from '../../../src/adapters/gcp/bigquery-warehouse';
import { SAMPLE_TABLE } from '../../contract/warehouse.contract';
import { FakeBigQueryServer } from './fixtures/fake-bigquery-server';

const PROJECT = 'himas-test';

const auditRow = (runId: string, unit: 'hospital' | 'patient' = 'hospital'): PrivacyAuditRow => ({
  runId,
  round: 3,
  modelVersionId: `${runId}-r0003`,
  level: 'ok',
  unit,
  claimedEpsilon: 1.5,
  recomputedEpsilon: 1.5,
  budgetEpsilon: null,
  findings: [{ level: 'ok', code: 'match', message: 'ε matches' }],
  time: '2026-01-02T03:04:05.678Z',
});

// There is no GCE metadata server here: without this, google-auth-library probes for one while
// looking for credentials and each failed probe prints a MetadataLookupWarning.
process.env.METADATA_SERVER_DETECTION = 'none';

describe('BigQueryWarehouse against a fake BigQuery REST API', () => {
  let server: FakeBigQueryServer;
  let warehouse: BigQueryWarehouse;

  beforeAll(async () => {
    server = await new FakeBigQueryServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    server.tables.clear();
    server.answer = () => ({ numDmlAffectedRows: 0 });
    warehouse = new BigQueryWarehouse(
      new BigQuery({ projectId: PROJECT, apiEndpoint: server.endpoint, autoRetry: false }),
      { projectId: PROJECT, location: 'EU' },
    );
  });

  test('the generated schema is the one Terraform provisions (terraform/warehouse/*.json)', () => {
    const committed = warehouseSchemaJson();
    for (const table of WAREHOUSE_TABLES as readonly TableDefinition<Record<string, unknown>>[])
      expect(bigQueryFields(table)).toEqual(JSON.parse(committed[table.name]));
  });

  test('first use creates a missing table with the schema, partitioning and clustering Terraform uses', async () => {
    server.answer = () => ({ numDmlAffectedRows: 1 });
    await warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow('r1')]);
    expect(server.requests.slice(0, 2).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /projects/${PROJECT}/datasets/himas_agents/tables/privacy_audit`,
      `POST /projects/${PROJECT}/datasets/himas_agents/tables`,
    ]);
    const created = server.tables.get('himas_agents.privacy_audit')!;
    expect(created.schema).toEqual({ fields: bigQueryFields(PRIVACY_AUDIT_TABLE) });
    expect(created.timePartitioning).toEqual({ type: 'DAY', field: 'time' });
    expect(created.clustering).toEqual({ fields: ['runId'] });
    // Known from then on: the next insert goes straight to the query.
    server.reset();
    await warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow('r2')]);
    expect(server.requests.map((r) => r.method + ' ' + r.path.split('/').slice(3, 4).join())).toEqual([
      'POST jobs',
      expect.stringMatching(/^GET queries/),
    ]);
  });

  test('an existing table (Terraform made it) is used as is; a create race (409) is not an error', async () => {
    server.tables.set('himas_agents.privacy_audit', { tableReference: { tableId: 'privacy_audit' } });
    await warehouse.query(PRIVACY_AUDIT_TABLE);
    expect(server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/tables'))).toHaveLength(0);

    server.nextCreateStatus = 409;
    await expect(warehouse.query(RUN_PROGRESS_TABLE)).resolves.toEqual([]);
  });

  test('insert is one MERGE on the key with every value as a typed parameter, and returns the rows BigQuery inserted', async () => {
    server.tables.set('himas_agents.privacy_audit', {});
    server.answer = () => ({ numDmlAffectedRows: 1 });
    const hostile = "r1'); DELETE FROM himas_agents.privacy_audit; --";
    const rows = [auditRow(hostile), auditRow(hostile, 'patient'), auditRow(hostile)];
    expect(await warehouse.insert(PRIVACY_AUDIT_TABLE, rows)).toBe(1);

    expect(server.queries).toHaveLength(1);
    const [merge] = server.queries;
    expect(merge.location).toBe('EU');
    expect(merge.sql).toContain(`MERGE \`${PROJECT}.himas_agents.privacy_audit\` AS target`);
    expect(merge.sql).toContain('FROM UNNEST(@rows) AS r');
    expect(merge.sql).toContain(
      'ON target.`runId` IS NOT DISTINCT FROM source.`runId` AND target.`modelVersionId` IS NOT DISTINCT FROM source.`modelVersionId` AND target.`unit` IS NOT DISTINCT FROM source.`unit`',
    );
    expect(merge.sql).toContain('WHEN NOT MATCHED THEN INSERT');
    expect(merge.sql).toContain('PARSE_JSON(r.`findings`) AS `findings`');
    expect(merge.sql).toContain('TIMESTAMP(r.`time`) AS `time`');
    // Values never reach the SQL text.
    expect(merge.sql).not.toContain('DELETE');
    expect(merge.types.rows).toBe(
      'ARRAY<STRUCT<runId STRING, round INT64, modelVersionId STRING, level STRING, unit STRING, claimedEpsilon FLOAT64, recomputedEpsilon FLOAT64, budgetEpsilon FLOAT64, findings STRING, time STRING>>',
    );
    // The duplicate key within the call is sent once (the first wins, as INSERT OR IGNORE).
    expect(merge.params.rows).toEqual([
      { ...auditRow(hostile), findings: JSON.stringify(auditRow(hostile).findings) },
      { ...auditRow(hostile, 'patient'), findings: JSON.stringify(auditRow(hostile).findings) },
    ]);
  });

  test('a row that does not match the schema is refused before any request', async () => {
    const bad = { ...auditRow('r1'), round: 1.5 };
    await expect(warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow('r2'), bad])).rejects.toThrow();
    await expect(
      warehouse.insert(PRIVACY_AUDIT_TABLE, [{ ...auditRow('r3'), claimedEpsilon: Infinity }]),
    ).rejects.toThrow();
    expect(server.requests).toEqual([]);
  });

  test('a MERGE whose result lacks numDmlAffectedRows is an error, not a silent 0', async () => {
    server.tables.set('himas_agents.privacy_audit', {});
    server.answer = () => ({ fields: [], rows: [] });
    await expect(warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow('r1')])).rejects.toThrow(
      /did not report the rows a MERGE into privacy_audit inserted/,
    );
  });

  test('query filters with typed parameters (NULL as IS NULL), returns one row per key, orders and limits', async () => {
    server.tables.set('himas_agents.contract_sample', {});
    server.answer = () => ({
      fields: [
        { name: 'runId', type: 'STRING' },
        { name: 'round', type: 'INTEGER' },
        { name: 'score', type: 'FLOAT' },
        { name: 'ok', type: 'BOOLEAN' },
        { name: 'details', type: 'STRING' },
        { name: 'time', type: 'STRING' },
      ],
      rows: [
        ['run-1', '4', null, 'true', '[{"code":"c4"}]', '2025-01-01T00:04:00.000Z'],
        ['run-1', '2', '0.25', 'true', '[{"code":"c2"}]', '2025-01-01T00:02:00.000Z'],
      ],
    });
    const rows = await warehouse.query(SAMPLE_TABLE, {
      where: { runId: 'run-1', ok: true, score: null, time: '2025-01-01T00:04:00.000Z' },
      orderBy: 'round',
      descending: true,
      limit: 2,
    });
    expect(rows).toEqual([
      {
        runId: 'run-1',
        round: 4,
        score: null,
        ok: true,
        details: [{ code: 'c4' }],
        time: '2025-01-01T00:04:00.000Z',
      },
      {
        runId: 'run-1',
        round: 2,
        score: 0.25,
        ok: true,
        details: [{ code: 'c2' }],
        time: '2025-01-01T00:02:00.000Z',
      },
    ]);
    const [select] = server.queries;
    expect(select.sql).toBe(
      [
        "SELECT `runId` AS `runId`, `round` AS `round`, `score` AS `score`, `ok` AS `ok`, TO_JSON_STRING(`details`) AS `details`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', `time`, 'UTC') AS `time`",
        `FROM \`${PROJECT}.himas_agents.contract_sample\``,
        'WHERE `runId` = @p0 AND `ok` = @p1 AND `score` IS NULL AND `time` = TIMESTAMP(@p3)',
        'QUALIFY ROW_NUMBER() OVER (PARTITION BY `runId`, `round`) = 1',
        'ORDER BY `round` DESC',
        'LIMIT @limit',
      ].join('\n'),
    );
    expect(select.params).toEqual({ p0: 'run-1', p1: true, p3: '2025-01-01T00:04:00.000Z', limit: 2 });
    expect(select.types).toEqual({ p0: 'STRING', p1: 'BOOL', p3: 'STRING', limit: 'INT64' });
  });

  test('a row BigQuery returns that breaks the row schema is an error naming the table and row', async () => {
    server.tables.set('himas_agents.contract_sample', {});
    server.answer = () => ({
      fields: SAMPLE_FIELDS,
      rows: [['run-1', '1', null, 'true', '{"not":"a list"}', '2025-01-01T00:01:00.000Z']],
    });
    await expect(warehouse.query(SAMPLE_TABLE)).rejects.toThrow(
      /`himas-test.himas_agents.contract_sample` row 1 does not match the table's schema: details/,
    );
  });

  test('unknown columns, JSON filters and bad limits are errors before any request', async () => {
    await expect(warehouse.query(SAMPLE_TABLE, { where: { nope: 1 } as never })).rejects.toThrow(
      /no column nope/,
    );
    await expect(warehouse.query(SAMPLE_TABLE, { orderBy: 'nope' as never })).rejects.toThrow(
      /no column nope/,
    );
    await expect(warehouse.query(SAMPLE_TABLE, { where: { details: 'x' } as never })).rejects.toThrow(
      /cannot filter on JSON column details/,
    );
    await expect(warehouse.query(SAMPLE_TABLE, { limit: -1 })).rejects.toThrow(/non-negative integer/);
    expect(server.requests).toEqual([]);
  });

  test("BigQuery's errors surface with its message (a denied job is not retried into a success)", async () => {
    server.tables.set('himas_agents.privacy_audit', {});
    server.answer = () => ({
      error: {
        code: 403,
        message: 'Access Denied: Table himas-test:himas_agents.privacy_audit',
        status: 'PERMISSION_DENIED',
      },
    });
    await expect(warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow('r1')])).rejects.toThrow(/Access Denied/);
  });

  test('bad identifiers in the configuration are refused at construction', () => {
    const client = new BigQuery({ projectId: PROJECT, apiEndpoint: server.endpoint });
    expect(() => new BigQueryWarehouse(client, { projectId: PROJECT, dataset: 'a.b' })).toThrow(
      /bad BigQuery dataset/,
    );
    expect(() => new BigQueryWarehouse(client, { projectId: 'P`x' })).toThrow(/bad project id/);
  });
});

const SAMPLE_FIELDS = [
  { name: 'runId', type: 'STRING' },
  { name: 'round', type: 'INTEGER' },
  { name: 'score', type: 'FLOAT' },
  { name: 'ok', type: 'BOOLEAN' },
  { name: 'details', type: 'STRING' },
  { name: 'time', type: 'STRING' },
];
