/**
 * BigQueryCohortSource at the request level: the real BigQuery client against the loopback fake
 * of the REST API. Pins the table a hospital reads (terraform: himas_<id with '_'>.cohort), the
 * parameterised hash split, the decoding of BigQuery's wire format into CohortRecords and the
 * errors that name the table, the row and the column.
 */
import './fixtures/bigquery-transport-for-jest'; // first: before the client loads
import { BigQuery } from '@google-cloud/bigquery';
import { cohortBigQuerySchema } from '../../../scripts/cohort-schema';
import { BigQueryCohortSource, cohortDataset } from '../../../src/adapters/gcp/bigquery-cohort-source';
import { COHORT_CSV_COLUMNS, NUMERIC_FEATURES } from '../../../src/core/data';
import { FakeBigQueryServer } from './fixtures/fake-bigquery-server';

const PROJECT = 'himas-test';
/** BigQuery reports legacy type names in query results. */
const LEGACY: Record<string, string> = { STRING: 'STRING', FLOAT64: 'FLOAT', INT64: 'INTEGER' };
const FIELDS = cohortBigQuerySchema().map((f) => ({ name: f.name, type: LEGACY[f.type] }));

/** A wire row in COHORT_CSV_COLUMNS order: every feature 1 except the overrides. */
function wireRow(stayId: string, overrides: Record<string, string | null> = {}): (string | null)[] {
  return COHORT_CSV_COLUMNS.map((column) => {
    if (column in overrides) return overrides[column];
    if (column === 'stay_id') return stayId;
    if (column === 'first_careunit') return 'Medical Intensive Care Unit (MICU)';
    if (column === 'label_inhospital_mortality') return '1';
    return '1';
  });
}

// There is no GCE metadata server here: without this, google-auth-library probes for one while
// looking for credentials and each failed probe prints a MetadataLookupWarning.
process.env.METADATA_SERVER_DETECTION = 'none';

describe('BigQueryCohortSource against a fake BigQuery REST API', () => {
  let server: FakeBigQueryServer;
  let source: BigQueryCohortSource;

  beforeAll(async () => {
    server = await new FakeBigQueryServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    source = new BigQueryCohortSource(
      new BigQuery({ projectId: PROJECT, apiEndpoint: server.endpoint, autoRetry: false }),
      { projectId: PROJECT, location: 'EU', testFraction: 0.2 },
    );
  });

  test("reads the hospital's own table with the split as parameters and returns validated records", async () => {
    server.answer = () => ({
      fields: FIELDS,
      rows: [
        wireRow('30000001', { lactate_max: null, age: '71.5' }),
        wireRow('30000002', { first_careunit: 'CCU' }),
      ],
    });
    const records = await source.read('h2-cardiac', 'test');

    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      stay_id: '30000001',
      first_careunit: 'MICU',
      label_inhospital_mortality: 1,
    });
    expect(records[0].features.lactate_max).toBeNull();
    expect(records[0].features.age).toBe(71.5);
    expect(Object.keys(records[0].features)).toEqual([...NUMERIC_FEATURES]);
    expect(records[1].first_careunit).toBe('CCU');

    const [query] = server.queries;
    expect(query.location).toBe('EU');
    expect(query.sql).toContain(`FROM \`${PROJECT}.himas_h2_cardiac.cohort\``);
    expect(query.sql).toContain(
      'WHERE (ABS(MOD(FARM_FINGERPRINT(`stay_id`), 10000)) < @test_basis_points) = @is_test',
    );
    expect(query.params).toEqual({ test_basis_points: 2000, is_test: true });
    expect(query.types).toEqual({ test_basis_points: 'INT64', is_test: 'BOOL' });
  });

  test('train is the complement of test: same expression, is_test false', async () => {
    server.answer = () => ({ fields: FIELDS, rows: [] });
    await source.read('h1', 'train');
    await source.read('h1', 'test');
    const [train, test] = server.queries;
    expect(train.sql).toBe(test.sql);
    expect(train.params.is_test).toBe(false);
    expect(test.params.is_test).toBe(true);
  });

  test.each([
    [{ age: 'NaN' }, /row 1: column 'age' has 'NaN', expected a finite number or NULL/],
    [{ is_male: '2' }, /row 1: column 'is_male' has '2', expected 0, 1 or NULL/],
    [{ first_careunit: 'Ward 9' }, /row 1: column 'first_careunit' has 'Ward 9', expected one of 'MICU'/],
    [
      { label_inhospital_mortality: null },
      /row 1: column 'label_inhospital_mortality' has NULL, expected 0 or 1/,
    ],
    [{ stay_id: '' }, /row 1: column 'stay_id' has '', expected a stay identifier/],
  ])('a bad value %j is an error naming the table, the row and the column', async (overrides, message) => {
    server.answer = () => ({ fields: FIELDS, rows: [wireRow('1', overrides)] });
    const read = source.read('h1', 'train');
    await expect(read).rejects.toThrow(message);
    await expect(read).rejects.toThrow(/himas-test\.himas_h1\.cohort \(train\)/);
  });

  test('a stay twice in the table is an error naming both rows', async () => {
    server.answer = () => ({ fields: FIELDS, rows: [wireRow('7'), wireRow('8'), wireRow('7')] });
    await expect(source.read('h1', 'train')).rejects.toThrow(
      /row 3: column 'stay_id' repeats '7' from row 1/,
    );
  });

  test('a missing table or denied read says which cohort and table', async () => {
    server.answer = () => ({
      error: { code: 404, message: 'Not found: Table himas-test:himas_h9.cohort', status: 'NOT_FOUND' },
    });
    await expect(source.read('h9', 'train')).rejects.toThrow(
      /cannot read the train cohort of h9 from himas-test\.himas_h9\.cohort: Not found/,
    );
  });

  test('a hospital id that is not a dataset-safe name is refused before any request', async () => {
    await expect(source.read('h1`; DROP', 'train')).rejects.toThrow(/not lower-case letters, digits and '-'/);
    expect(server.requests).toEqual([]);
    expect(cohortDataset('h3-community')).toBe('himas_h3_community');
    expect(source.describe()).toEqual({ kind: 'bigquery', location: 'himas-test.himas_<hospital>.cohort' });
  });
});
