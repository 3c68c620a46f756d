import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EmbeddedDatabase, StoreInUseError, openEmbeddedStack } from '../../../src/adapters/embedded';
import { MIGRATIONS } from '../../../src/adapters/embedded/embedded-schema';
import { killHard, startStoreChild } from './embedded-child-process';

describe('EmbeddedDatabase', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'himas-db-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('creates parent directories and records every migration in schema_version', async () => {
    const file = path.join(home, 'nested', 'dir', 'himas.duckdb');
    const database = await EmbeddedDatabase.open(file);
    const versions = await database.all<{ version: number }>(
      'SELECT version FROM schema_version ORDER BY version',
    );
    expect(versions.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    await database.close();
    // Reopening applies nothing twice.
    const reopened = await EmbeddedDatabase.open(file);
    expect(await reopened.all('SELECT * FROM schema_version')).toHaveLength(MIGRATIONS.length);
    await reopened.close();
  });

  test('opening the same file twice in one process shares one instance', async () => {
    const file = path.join(home, 'himas.duckdb');
    const first = await EmbeddedDatabase.open(file);
    const second = await EmbeddedDatabase.open(file);
    expect(second).toBe(first);
    await first.close();
    // Still open for the second handle.
    await expect(second.all('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    await second.close();
    await expect(second.all('SELECT 1')).rejects.toThrow(/closed/);
  });

  test('transaction rolls back when its function throws', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    await database.run('CREATE TABLE t (n INTEGER)');
    await expect(
      database.transaction(async (sql) => {
        await sql.run('INSERT INTO t VALUES (1)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await database.all('SELECT * FROM t')).toEqual([]);
    await database.close();
  });

  test('code inside a transaction may use the database directly without deadlocking', async () => {
    const database = await EmbeddedDatabase.open(':memory:');
    await database.run('CREATE TABLE t (n INTEGER)');
    await database.transaction(async (sql) => {
      await sql.run('INSERT INTO t VALUES (1)');
      await Promise.all([database.run('INSERT INTO t VALUES (2)'), sql.run('INSERT INTO t VALUES (3)')]);
      await database.transaction((inner) => inner.run('INSERT INTO t VALUES (4)'));
    });
    const rows = await database.all<{ n: number }>('SELECT n FROM t ORDER BY n');
    expect(rows.map((row) => row.n)).toEqual([1, 2, 3, 4]);
    await database.close();
  });

  test('a file held by another process fails with a clear error', async () => {
    const child = await startStoreChild('hold', home);
    try {
      const file = path.join(home, 'himas.duckdb');
      const attempt = EmbeddedDatabase.open(file);
      await expect(attempt).rejects.toBeInstanceOf(StoreInUseError);
      await expect(attempt).rejects.toThrow(
        `the HIMAS store ${file} is in use by another process (is a \`himas train\` running?)`,
      );
    } finally {
      await killHard(child);
    }
  });

  test('committed writes survive a SIGKILL of the writing process', async () => {
    const child = await startStoreChild('write', home);
    await killHard(child);
    const stack = await openEmbeddedStack(home, { events: { minBackoffMs: 1, maxBackoffMs: 5 } });
    try {
      const rounds = await stack.documents.list('runs/crash/rounds');
      expect(rounds).toHaveLength(25);
      expect(rounds[24]).toEqual({ id: '24', path: 'runs/crash/rounds/24', data: { round: 24 } });
      expect(await stack.documents.get('runs/crash')).toEqual({ status: 'running', rounds: 25 });
      // The message was published for a subscription that had no handler yet: it waited on disk.
      const received: string[] = [];
      await stack.events.subscribe({ name: 'crash-sub', topic: 'crash-topic' }, async (delivery) => {
        received.push(delivery.data);
      });
      await stack.events.idle();
      expect(received).toEqual(['survives']);
    } finally {
      await stack.close();
    }
  });
});
