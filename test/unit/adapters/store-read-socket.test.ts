import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PRIVACY_AUDIT_TABLE } from '../../../schemas/warehouse';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { ReadOnlyStoreError, StoreReadClient } from '../../../src/adapters/embedded/store-read-client';
import { storeSocketPath } from '../../../src/adapters/embedded/store-read-protocol';
import { serveStoreReads, type StoreReadServer } from '../../../src/adapters/embedded/store-read-server';
import { withEmbeddedReader } from '../../../src/local/store-access';

const auditRow = {
  runId: 'r1',
  round: 1,
  modelVersionId: 'r1-r0001',
  level: 'ok' as const,
  unit: 'patient' as const,
  claimedEpsilon: 0.5,
  recomputedEpsilon: 0.5,
  budgetEpsilon: 3,
  findings: [],
  time: '2026-12-01T00:00:00.000Z',
};

/** Sends one raw line to the socket and resolves to the reply line. */
function rawRequest(socketPath: string, line: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(`${line}\n`));
    let text = '';
    socket.on('data', (chunk) => {
      text += String(chunk);
      if (text.includes('\n')) {
        socket.destroy();
        resolve(JSON.parse(text.split('\n')[0]) as Record<string, unknown>);
      }
    });
    socket.on('error', reject);
  });
}

describe('reads of a store another process holds (store-read socket)', () => {
  let home: string;
  let stack: EmbeddedStack;
  let server: StoreReadServer;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'himas-sock-'));
    stack = await openEmbeddedStack(home);
    await stack.documents.set('runs/r1', { runId: 'r1', status: 'running' });
    await stack.documents.set('runs/r1/rounds/0001', { round: 1 });
    await stack.warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow]);
    server = await serveStoreReads(storeSocketPath(home), stack);
  });
  afterEach(async () => {
    await server.close();
    await stack.close();
    await rm(home, { recursive: true, force: true });
  });

  test('documents and warehouse rows read through the socket equal the holder’s own reads', async () => {
    const client = (await StoreReadClient.connect(server.socketPath))!;
    try {
      expect(await client.documents.get('runs/r1')).toEqual({ runId: 'r1', status: 'running' });
      expect(await client.documents.get('runs/nope')).toBeUndefined();
      expect(await client.documents.list('runs/r1/rounds')).toEqual(
        await stack.documents.list('runs/r1/rounds'),
      );
      expect(await client.documents.count('runs/r1/rounds')).toBe(1);
      expect(await client.warehouse.query(PRIVACY_AUDIT_TABLE, { where: { runId: 'r1' } })).toEqual([
        auditRow,
      ]);
      // A write written by the holder after the reader connected is seen at once.
      await stack.documents.update('runs/r1', { status: 'completed' });
      expect(await client.documents.get('runs/r1')).toMatchObject({ status: 'completed' });
    } finally {
      client.close();
    }
  });

  test('the socket is the owner’s alone and a reader cannot write', async () => {
    expect((await import('node:fs')).statSync(server.socketPath).mode & 0o777).toBe(0o600);
    const client = (await StoreReadClient.connect(server.socketPath))!;
    try {
      await expect(client.documents.set('runs/r1', { status: 'hacked' })).rejects.toBeInstanceOf(
        ReadOnlyStoreError,
      );
      await expect(client.warehouse.insert(PRIVACY_AUDIT_TABLE, [auditRow])).rejects.toBeInstanceOf(
        ReadOnlyStoreError,
      );
    } finally {
      client.close();
    }
    // Attack: a hand-written request for a write method, or SQL in a table name, is refused.
    const write = await rawRequest(
      server.socketPath,
      JSON.stringify({ id: 7, method: 'documents.set', path: 'runs/r1' }),
    );
    expect(write).toMatchObject({ id: 7, error: { name: 'BadRequest' } });
    const injection = await rawRequest(
      server.socketPath,
      JSON.stringify({ id: 8, method: 'warehouse.query', table: 'x"; DROP TABLE documents; --', query: {} }),
    );
    expect(injection).toMatchObject({
      id: 8,
      error: { message: expect.stringMatching(/no warehouse table/) },
    });
    expect(await rawRequest(server.socketPath, 'not json')).toMatchObject({ error: { name: 'BadRequest' } });
    expect(await stack.documents.get('runs/r1')).toEqual({ runId: 'r1', status: 'running' });
  });

  test('withEmbeddedReader reads through the training process while it holds the store', async () => {
    const seen = await withEmbeddedReader(home, async (ports) => ({
      via: ports.via,
      run: await ports.documents.get('runs/r1'),
      audit: await ports.warehouse.query(PRIVACY_AUDIT_TABLE),
    }));
    expect(seen).toEqual({
      via: 'training-process',
      run: { runId: 'r1', status: 'running' },
      audit: [auditRow],
    });
  });

  test('with nobody serving, the file is opened read-only just for the read, then released', async () => {
    await server.close();
    await stack.close();
    expect(existsSync(storeSocketPath(home))).toBe(false);
    // A stale socket file (a killed run) is not mistaken for a live server.
    await writeFile(storeSocketPath(home), '');
    const seen = await withEmbeddedReader(home, async (ports) => ({
      via: ports.via,
      run: await ports.documents.get('runs/r1'),
      missingTable: await ports.warehouse.query({ ...PRIVACY_AUDIT_TABLE, name: 'never_written' }),
      write: await ports.documents.set('runs/r1', { status: 'x' }).then(
        () => 'written',
        (error: Error) => error.message,
      ),
    }));
    expect(seen.via).toBe('file');
    expect(seen.run).toEqual({ runId: 'r1', status: 'running' });
    expect(seen.missingTable).toEqual([]);
    expect(seen.write).toMatch(/read-only|Cannot execute/i);
    // Released: a writer can take the file again straight away.
    stack = await openEmbeddedStack(home);
    server = await serveStoreReads(storeSocketPath(home), stack);
    expect(await stack.documents.get('runs/r1')).toEqual({ runId: 'r1', status: 'running' });
  });
});
