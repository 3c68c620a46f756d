import { PRIVACY_AUDIT_TABLE, type PrivacyAuditRow } from '../../../schemas/warehouse';
import { EmbeddedDatabase, EmbeddedDocumentStore } from '../../../src/adapters/embedded';
import {
  DocumentWarehouse,
  warehouseRowsPath,
} from '../../../src/adapters/document-warehouse/document-warehouse';
import { describeWarehouseContract, SAMPLE_TABLE } from '../../contract/warehouse.contract';

describeWarehouseContract('documents (embedded document store)', async () => {
  const database = await EmbeddedDatabase.open(':memory:');
  const documents = new EmbeddedDocumentStore(database);
  return {
    warehouse: new DocumentWarehouse(documents),
    cleanup: async () => {
      await documents.close();
      await database.close();
    },
  };
});

describe('DocumentWarehouse', () => {
  let database: EmbeddedDatabase;
  let documents: EmbeddedDocumentStore;
  beforeEach(async () => {
    database = await EmbeddedDatabase.open(':memory:');
    documents = new EmbeddedDocumentStore(database);
  });
  afterEach(async () => {
    await documents.close();
    await database.close();
  });

  const auditRow = (runId: string): PrivacyAuditRow => ({
    runId,
    round: 1,
    modelVersionId: `${runId}/r0001`,
    level: 'ok',
    unit: 'hospital',
    claimedEpsilon: null,
    recomputedEpsilon: 1.5,
    budgetEpsilon: null,
    findings: [],
    time: '2025-01-01T00:00:00.000Z',
  });

  it('keeps one document per key under warehouse/{table}/rows, with an id safe for Firestore', async () => {
    const warehouse = new DocumentWarehouse(documents);
    // Slashes in key values would split a Firestore path; the id is a hash instead.
    expect(await warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow('a/b'), auditRow('a/b')])).toBe(1);
    const stored = await documents.list(warehouseRowsPath('privacy_audit'));
    expect(stored).toHaveLength(1);
    expect(stored[0].id).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0].data).toEqual(auditRow('a/b'));
  });

  it('two warehouses over one store (two processes over one Firestore) see and skip each other’s rows', async () => {
    const one = new DocumentWarehouse(documents);
    const two = new DocumentWarehouse(documents);
    expect(await one.insert(PRIVACY_AUDIT_TABLE, [auditRow('r1')])).toBe(1);
    expect(await two.insert(PRIVACY_AUDIT_TABLE, [auditRow('r1')])).toBe(0);
    expect(await two.query(PRIVACY_AUDIT_TABLE, { where: { runId: 'r1' } })).toEqual([auditRow('r1')]);
  });

  it('refuses a table name that is not a plain identifier (it becomes a document path)', async () => {
    const warehouse = new DocumentWarehouse(documents);
    await expect(warehouse.query({ ...SAMPLE_TABLE, name: 'x/../y' })).rejects.toThrow(
      /bad warehouse table name/,
    );
  });

  it('refuses a negative or fractional limit', async () => {
    const warehouse = new DocumentWarehouse(documents);
    await expect(warehouse.query(SAMPLE_TABLE, { limit: -1 })).rejects.toThrow(/limit/);
    await expect(warehouse.query(SAMPLE_TABLE, { limit: 1.5 })).rejects.toThrow(/limit/);
  });
});
