import { EmbeddedDatabase, EmbeddedDocumentStore } from '../../../src/adapters/embedded';
import { DocumentCache } from '../../../src/adapters/embedded/document-cache';
import { parseDocumentPath } from '../../../src/adapters/embedded/document-paths';

describe('EmbeddedDocumentStore with its document cache', () => {
  let database: EmbeddedDatabase;
  let store: EmbeddedDocumentStore;
  beforeEach(async () => {
    database = await EmbeddedDatabase.open(':memory:');
    store = new EmbeddedDocumentStore(database, { closeDatabase: true });
  });
  afterEach(() => store.close());

  test('a write in a transaction that rolls back never reaches the cache; inside it, reads see it', async () => {
    await store.set('runs/a', { v: 1 });
    expect(await store.get('runs/a')).toEqual({ v: 1 });
    await expect(
      database.transaction(async () => {
        await store.set('runs/a', { v: 2 });
        await store.create('runs/b', { v: 3 });
        expect(await store.get('runs/a')).toEqual({ v: 2 });
        expect(await store.count('runs')).toBe(2);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.get('runs/a')).toEqual({ v: 1 });
    expect(await store.get('runs/b')).toBeUndefined();
    expect(await store.count('runs')).toBe(1);
    // What the cache says is what the table holds.
    const rows = await database.all<{ path: string }>('SELECT path FROM documents ORDER BY path');
    expect(rows.map((row) => row.path)).toEqual(['runs/a']);
  });

  test('a committed transaction is visible to the next read, and so is a merge', async () => {
    await store.set('runs/a', { v: 1, keep: true });
    await store.runTransaction(async (tx) => {
      const current = await tx.get<{ v: number }>('runs/a');
      tx.update('runs/a', { v: (current?.v ?? 0) + 1 });
      tx.create('runs/a/rounds/1', { n: 1 });
    });
    expect(await store.get('runs/a')).toEqual({ v: 2, keep: true });
    await store.set('runs/a', { w: 'x' }, { merge: true });
    expect(await store.get('runs/a')).toEqual({ v: 2, keep: true, w: 'x' });
    expect(await store.count('runs/a/rounds')).toBe(1);
    await expect(store.update('runs/missing', { v: 1 })).rejects.toThrow(/runs\/missing/);
  });

  test('a cached document comes back as a fresh copy: mutating it changes nothing stored', async () => {
    await store.set('runs/a', { list: [1, 2] });
    const first = await store.get<{ list: number[] }>('runs/a');
    first!.list.push(3);
    expect(await store.get('runs/a')).toEqual({ list: [1, 2] });
  });

  test('once a collection is known, counts, absent reads and creates in it need no query', async () => {
    await store.create('runs/r/updates/h1', { h: 1 });
    expect(await store.count('runs/r/updates')).toBe(1);
    const queries = jest.spyOn(database, 'all');
    expect(await store.get('runs/r/updates/h2')).toBeUndefined();
    expect(await store.create('runs/r/updates/h2', { h: 2 })).toBe(true);
    expect(await store.create('runs/r/updates/h2', { h: 2 })).toBe(false);
    expect(await store.count('runs/r/updates')).toBe(2);
    expect(await store.get('runs/r/updates/h2')).toEqual({ h: 2 });
    expect(queries.mock.calls.map(([sql]) => sql).filter((sql) => /^\s*SELECT/i.test(sql))).toEqual([]);
    queries.mockRestore();
    await store.delete('runs/r/updates/h1');
    expect(await store.count('runs/r/updates')).toBe(1);
    expect(await store.get('runs/r/updates/h1')).toBeUndefined();
  });

  test('a document written by another store on the same database is seen by this one', async () => {
    const other = new EmbeddedDocumentStore(database);
    expect(await store.get('runs/x')).toBeUndefined();
    await other.set('runs/x', { by: 'other' });
    expect(await store.get('runs/x')).toEqual({ by: 'other' });
  });
});

describe('DocumentCache', () => {
  const at = (path: string) => parseDocumentPath(path);
  test('forgets the least recently used document beyond its entry and character bounds', () => {
    const cache = new DocumentCache({
      maxEntries: 3,
      maxChars: 100,
      maxCollectionIds: 10,
      maxIdsPerCollection: 5,
    });
    for (const id of ['a', 'b', 'c']) cache.remember(at(`c/${id}`), `"${id}"`);
    expect(cache.lookup(at('c/a'))).toBe('"a"'); // a is now the most recent
    cache.remember(at('c/d'), '"d"');
    expect(cache.lookup(at('c/b'))).toBeUndefined();
    expect(cache.lookup(at('c/a'))).toBe('"a"');
    expect(cache.size().entries).toBe(3);
    cache.remember(at('c/big'), `"${'x'.repeat(98)}"`);
    expect(cache.size().chars).toBeLessThanOrEqual(100);
    cache.remember(at('c/huge'), `"${'x'.repeat(200)}"`);
    expect(cache.lookup(at('c/huge'))).toBeUndefined();
  });

  test('holds a collection in full only up to its bounds, and keeps a held one exact on writes', () => {
    const cache = new DocumentCache({
      maxEntries: 10,
      maxChars: 1000,
      maxCollectionIds: 10,
      maxIdsPerCollection: 3,
    });
    cache.rememberCollection('big', ['1', '2', '3', '4']);
    expect(cache.collectionIdsOf('big')).toBeUndefined();
    expect(cache.worthLoading('big')).toBe(false);
    cache.rememberCollection('small', ['1']);
    expect(cache.lookup(at('small/2'))).toBeNull();
    cache.written(at('small/2'), '{}');
    expect(cache.collectionIdsOf('small')?.size).toBe(2);
    cache.written(at('small/1'), null);
    expect(cache.lookup(at('small/1'))).toBeNull();
    expect(cache.collectionIdsOf('small')?.size).toBe(1);
  });
});

describe('EmbeddedDocumentStore concurrent creates', () => {
  test('creates of one path at once: exactly one wins, whether or not the cache knows the collection', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    const store = new EmbeddedDocumentStore(database, { closeDatabase: true });
    await store.create('audit/first', { n: 0 });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.create(`audit/${i % 3 === 0 ? 'same' : `id${i}`}`, { n: i }),
      ),
    );
    expect(outcomes.filter((created, i) => i % 3 === 0 && created)).toHaveLength(1);
    expect(outcomes.filter((created, i) => i % 3 !== 0 && created)).toHaveLength(8);
    expect(await store.get('audit/same')).toEqual({ n: 0 });
    expect(await store.count('audit')).toBe(10);
    expect(await store.create('audit/first', { n: 1 })).toBe(false);
    await store.close();
  });
});
