/**
 * FirestoreDocumentStore against the real Firestore emulator: the same DocumentStore contract the
 * embedded store passes, plus what only matters on Firestore (value encoding, retries running out),
 * and the Warehouse contract of DocumentWarehouse over it (the emulator stack's warehouse).
 */
import { randomUUID } from 'node:crypto';
import { openGcpStack, type FirestoreDocumentStore, type GcpStack } from '../../src/adapters/gcp';
import { FirestoreDocumentStore as Store } from '../../src/adapters/gcp/firestore-document-store';
import { ConflictError } from '../../src/ports/errors';
import { startFirestoreEmulator } from '../../src/local/emulators';
import { DocumentWarehouse } from '../../src/adapters/document-warehouse/document-warehouse';
import { describeDocumentStoreContract } from '../contract/document-store.contract';
import { describeWarehouseContract } from '../contract/warehouse.contract';
import { describeWithEmulators, useEmulator } from './emulator-harness';

describeWithEmulators('Firestore emulator', () => {
  const emulator = useEmulator(() => startFirestoreEmulator({ projectId: 'himas-test' }));
  let stack: GcpStack;
  let store: FirestoreDocumentStore;

  beforeAll(() => {
    stack = openGcpStack({ projectId: emulator().projectId, firestoreEmulatorHost: emulator().host });
    store = stack.documents;
  });
  afterAll(async () => {
    await stack?.close();
  });

  // One client for the file; each test's store shares it (the contract uses random roots).
  describeDocumentStoreContract('Firestore (emulator)', async () => ({
    store: new Store(store.firestore),
    cleanup: async () => undefined,
  }));

  // The emulator stack's warehouse: rows as Firestore documents, shared by every function process.
  describeWarehouseContract('documents (Firestore emulator)', async () => ({
    warehouse: new DocumentWarehouse(new Store(store.firestore)),
    cleanup: async () => undefined,
  }));

  describe('FirestoreDocumentStore on Firestore', () => {
    let root: string;
    beforeEach(() => {
      root = `gcp-${randomUUID().slice(0, 8)}`;
    });

    test('stores plain JSON: nested arrays round-trip, undefined fields are dropped, Dates become strings', async () => {
      const at = new Date('2026-01-02T03:04:05.000Z');
      await store.set(`${root}/a`, {
        matrix: [
          [1, 2],
          [3, [4, 5]],
        ],
        histogram: { positives: [0, 1], negatives: [2, 3] },
        gone: undefined,
        at,
      });
      expect(await store.get(`${root}/a`)).toEqual({
        matrix: [
          [1, 2],
          [3, [4, 5]],
        ],
        histogram: { positives: [0, 1], negatives: [2, 3] },
        at: at.toISOString(),
      });
    });

    test('rejects the reserved nested-array key instead of misreading it later', async () => {
      await expect(store.set(`${root}/a`, { list: [{ '~array': [1] }] })).rejects.toThrow(/reserved/);
    });

    test('update and set(merge) treat a dotted key as one top-level field, not a nested path', async () => {
      await store.set(`${root}/a`, { 'a.b': 1, a: { b: 2 } });
      await store.update(`${root}/a`, { 'a.b': 3 });
      await store.set(`${root}/a`, { 'c.d': 4 }, { merge: true });
      expect(await store.get(`${root}/a`)).toEqual({ 'a.b': 3, a: { b: 2 }, 'c.d': 4 });
    });

    test('a transaction that runs out of attempts on contention fails with ConflictError', async () => {
      const impatient = new Store(store.firestore, { maxTransactionAttempts: 1 });
      const counter = `${root}/counter`;
      await store.set(counter, { n: 0 });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          impatient.runTransaction(async (tx) => {
            const current = await tx.get<{ n: number }>(counter);
            await new Promise((resolve) => setTimeout(resolve, 20));
            tx.set(counter, { n: current!.n + 1 });
          }),
        ),
      );
      const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures)
        expect((failure as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      // Nothing half-applied: the counter counts exactly the transactions that succeeded.
      expect(await store.get(counter)).toEqual({ n: outcomes.length - failures.length });
    });
  });
});
