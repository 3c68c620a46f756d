import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedDatabase, EmbeddedDocumentStore } from '../../../src/adapters/embedded';
import { describeDocumentStoreContract } from '../../contract/document-store.contract';

describeDocumentStoreContract('embedded (DuckDB in memory)', async () => {
  const database = await EmbeddedDatabase.open(':memory:');
  const store = new EmbeddedDocumentStore(database, { closeDatabase: true });
  return { store, cleanup: () => store.close() };
});

describe('EmbeddedDocumentStore', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'himas-docs-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('documents persist across close and reopen', async () => {
    const file = path.join(home, 'himas.duckdb');
    const first = new EmbeddedDocumentStore(await EmbeddedDatabase.open(file), { closeDatabase: true });
    await first.set('runs/r1', { status: 'running' });
    await first.create('runs/r1/rounds/1', { expected: ['h1', 'h2'] });
    await first.close();

    const second = new EmbeddedDocumentStore(await EmbeddedDatabase.open(file), { closeDatabase: true });
    expect(await second.get('runs/r1')).toEqual({ status: 'running' });
    expect(await second.list('runs/r1/rounds')).toEqual([
      { id: '1', path: 'runs/r1/rounds/1', data: { expected: ['h1', 'h2'] } },
    ]);
    await second.close();
  });

  test('reads after writes in a transaction are refused, as Firestore does', async () => {
    const store = new EmbeddedDocumentStore(await EmbeddedDatabase.open(':memory:'), { closeDatabase: true });
    await expect(
      store.runTransaction(async (tx) => {
        tx.set('runs/a', { a: 1 });
        await tx.get('runs/a');
      }),
    ).rejects.toThrow(/reads before/);
    expect(await store.get('runs/a')).toBeUndefined();
    await store.close();
  });

  test('rejects data that is not an object', async () => {
    const store = new EmbeddedDocumentStore(await EmbeddedDatabase.open(':memory:'), { closeDatabase: true });
    await expect(store.set('runs/a', [1, 2] as unknown as Record<string, unknown>)).rejects.toThrow(/object/);
    await store.close();
  });

  test('getParsed reuses a parse while the stored text is unchanged and parses again after a write', async () => {
    const store = new EmbeddedDocumentStore(await EmbeddedDatabase.open(':memory:'), { closeDatabase: true });
    let parses = 0;
    const parse = (data: Record<string, unknown>) => {
      parses++;
      return Object.freeze({ n: data.n as number });
    };
    try {
      expect(await store.getParsed('runs/r1', parse)).toBeUndefined();
      await store.set('runs/r1', { n: 1 });
      const first = await store.getParsed('runs/r1', parse);
      expect(first).toEqual({ n: 1 });
      expect(await store.getParsed('runs/r1', parse)).toBe(first);
      expect(parses).toBe(1);
      await store.update('runs/r1', { n: 2 });
      expect(await store.getParsed('runs/r1', parse)).toEqual({ n: 2 });
      expect(parses).toBe(2);
      await store.delete('runs/r1');
      expect(await store.getParsed('runs/r1', parse)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
