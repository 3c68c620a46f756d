/**
 * The DocumentStore contract, shared by every adapter (embedded here; Firestore against its
 * emulator later). Each test works under its own random root collection, so the suite also runs
 * against a shared emulator without cleanup between tests.
 */
import { randomUUID } from 'node:crypto';
import type { DocumentStore } from '../../src/ports/document-store';
import { AlreadyExistsError, NotFoundError } from '../../src/ports/errors';

export interface DocumentStoreFixture {
  store: DocumentStore;
  cleanup(): Promise<void>;
}

export function describeDocumentStoreContract(
  name: string,
  makeStore: () => Promise<DocumentStoreFixture>,
): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let fixture: DocumentStoreFixture;
    let store: DocumentStore;
    let root: string;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      root = `contract-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    test('get of a missing document is undefined; set then get returns the data', async () => {
      expect(await store.get(`${root}/a`)).toBeUndefined();
      await store.set(`${root}/a`, { n: 1, nested: { list: [1, 'two', null], flag: true } });
      expect(await store.get(`${root}/a`)).toEqual({ n: 1, nested: { list: [1, 'two', null], flag: true } });
    });

    test('set replaces the whole document', async () => {
      await store.set(`${root}/a`, { a: 1, b: 2 });
      await store.set(`${root}/a`, { c: 3 });
      expect(await store.get(`${root}/a`)).toEqual({ c: 3 });
    });

    test('set with merge merges top-level fields (a nested object is replaced, not merged)', async () => {
      await store.set(`${root}/a`, { a: 1, nested: { x: 1, y: 2 } });
      await store.set(`${root}/a`, { b: 2, nested: { z: 3 } }, { merge: true });
      expect(await store.get(`${root}/a`)).toEqual({ a: 1, b: 2, nested: { z: 3 } });
      await store.set(`${root}/fresh`, { only: true }, { merge: true });
      expect(await store.get(`${root}/fresh`)).toEqual({ only: true });
    });

    test('update merges into an existing document and throws NotFoundError when it is absent', async () => {
      await store.set(`${root}/a`, { a: 1, b: 1 });
      await store.update(`${root}/a`, { b: 2, c: 3 });
      expect(await store.get(`${root}/a`)).toEqual({ a: 1, b: 2, c: 3 });
      await expect(store.update(`${root}/missing`, { b: 2 })).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.get(`${root}/missing`)).toBeUndefined();
    });

    test('delete removes the document; deleting a missing document is fine', async () => {
      await store.set(`${root}/a`, { a: 1 });
      await store.delete(`${root}/a`);
      expect(await store.get(`${root}/a`)).toBeUndefined();
      await expect(store.delete(`${root}/a`)).resolves.toBeUndefined();
    });

    test('create is idempotent: the second create returns false and changes nothing', async () => {
      expect(await store.create(`${root}/a`, { first: true })).toBe(true);
      expect(await store.create(`${root}/a`, { first: false })).toBe(false);
      expect(await store.get(`${root}/a`)).toEqual({ first: true });
    });

    test('list returns the documents directly inside a collection, ordered by id', async () => {
      await store.set(`${root}/r1/rounds/2`, { round: 2 });
      await store.set(`${root}/r1/rounds/1`, { round: 1 });
      await store.set(`${root}/r1/rounds/10`, { round: 10 });
      await store.set(`${root}/r1/rounds/1/updates/h1`, { hospital: 'h1' });
      await store.set(`${root}/r2/rounds/1`, { other: true });
      const listed = await store.list(`${root}/r1/rounds`);
      expect(listed.map((doc) => doc.id)).toEqual(['1', '10', '2']);
      expect(listed[0]).toEqual({ id: '1', path: `${root}/r1/rounds/1`, data: { round: 1 } });
      expect(await store.list(`${root}/r9/rounds`)).toEqual([]);
    });

    test('count counts the documents directly inside a collection, as list lists them', async () => {
      await store.set(`${root}/r1/rounds/2`, { round: 2 });
      await store.set(`${root}/r1/rounds/1`, { round: 1 });
      await store.set(`${root}/r1/rounds/1/updates/h1`, { hospital: 'h1' });
      await store.set(`${root}/r2/rounds/1`, { other: true });
      expect(await store.count(`${root}/r1/rounds`)).toBe(2);
      expect(await store.count(`${root}/r1/rounds/1/updates`)).toBe(1);
      expect(await store.count(`${root}/r9/rounds`)).toBe(0);
      await store.delete(`${root}/r1/rounds/2`);
      expect(await store.count(`${root}/r1/rounds`)).toBe(1);
    });

    test('stored data cannot be changed through the objects passed in or returned', async () => {
      const data = { nested: { n: 1 } };
      await store.set(`${root}/a`, data);
      data.nested.n = 2;
      const read = await store.get<{ nested: { n: number } }>(`${root}/a`);
      expect(read).toEqual({ nested: { n: 1 } });
      read!.nested.n = 3;
      expect(await store.get(`${root}/a`)).toEqual({ nested: { n: 1 } });
    });

    test('a transaction reads, then writes everything together', async () => {
      await store.set(`${root}/a`, { n: 1 });
      const result = await store.runTransaction(async (tx) => {
        const a = await tx.get<{ n: number }>(`${root}/a`);
        const b = await tx.get(`${root}/b`);
        tx.update(`${root}/a`, { n: a!.n + 1 });
        tx.create(`${root}/b`, { from: 'tx' });
        tx.set(`${root}/c`, { c: true });
        tx.set(`${root}/a`, { merged: true }, { merge: true });
        return { a: a!.n, b };
      });
      expect(result).toEqual({ a: 1, b: undefined });
      expect(await store.get(`${root}/a`)).toEqual({ n: 2, merged: true });
      expect(await store.get(`${root}/b`)).toEqual({ from: 'tx' });
      expect(await store.get(`${root}/c`)).toEqual({ c: true });
    });

    test('a transaction whose function throws writes nothing', async () => {
      await store.set(`${root}/a`, { n: 1 });
      await expect(
        store.runTransaction(async (tx) => {
          await tx.get(`${root}/a`);
          tx.set(`${root}/a`, { n: 99 });
          tx.set(`${root}/b`, { n: 99 });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.get(`${root}/a`)).toEqual({ n: 1 });
      expect(await store.get(`${root}/b`)).toBeUndefined();
    });

    test('tx.create of an existing document fails the transaction with AlreadyExistsError; nothing is written', async () => {
      await store.set(`${root}/exists`, { original: true });
      await expect(
        store.runTransaction(async (tx) => {
          tx.set(`${root}/other`, { written: true });
          tx.create(`${root}/exists`, { original: false });
        }),
      ).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(await store.get(`${root}/exists`)).toEqual({ original: true });
      expect(await store.get(`${root}/other`)).toBeUndefined();
    });

    test('tx.update of a missing document fails the transaction with NotFoundError; nothing is written', async () => {
      await expect(
        store.runTransaction(async (tx) => {
          tx.set(`${root}/other`, { written: true });
          tx.update(`${root}/missing`, { n: 1 });
        }),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.get(`${root}/other`)).toBeUndefined();
      expect(await store.get(`${root}/missing`)).toBeUndefined();
    });

    test('20 concurrent transactions incrementing one counter lose no update', async () => {
      const counter = `${root}/counter`;
      await store.set(counter, { n: 0 });
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.runTransaction(async (tx) => {
            const current = await tx.get<{ n: number }>(counter);
            // Give the others a chance to interleave: a store without isolation loses updates here.
            await new Promise((resolve) => setTimeout(resolve, 1));
            tx.set(counter, { n: current!.n + 1 });
          }),
        ),
      );
      expect(await store.get(counter)).toEqual({ n: 20 });
    });

    test.each([
      ['a collection path', (s: DocumentStore) => s.get('runs')],
      ['an odd number of segments', (s: DocumentStore) => s.set('runs/r1/rounds', { a: 1 })],
      ['an empty segment', (s: DocumentStore) => s.get('runs//r1')],
      ['a trailing slash', (s: DocumentStore) => s.create('runs/r1/', { a: 1 })],
      ['an empty path', (s: DocumentStore) => s.get('')],
      ['a document path given to list', (s: DocumentStore) => s.list('runs/r1')],
    ])('rejects %s with a clear error', async (_label, call) => {
      await expect(call(store)).rejects.toThrow(/path/i);
    });
  });
}
