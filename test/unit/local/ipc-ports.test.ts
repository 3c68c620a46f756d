import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { connectPortsOverIpc, servePortsOverIpc } from '../../../src/local/ipc/ipc-ports';
import { NotFoundError } from '../../../src/ports/errors';
import type { OutgoingMessage } from '../../../src/ports/event-bus';
import type { JobPorts } from '../../../src/local/ipc/ipc-ports';

jest.setTimeout(60_000);

const REPO_ROOT = path.resolve(__dirname, '../../..');

describe('ports over the Node IPC channel', () => {
  let home: string;
  let stack: EmbeddedStack;
  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-ipc-'));
    stack = await openEmbeddedStack(home);
  });
  afterEach(async () => {
    await stack.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('serves reads of documents and models, blobs and events to a child process, and refuses its writes to shared state', async () => {
    const published: Array<{ topic: string; message: OutgoingMessage }> = [];
    const ports = {
      documents: stack.documents,
      blobs: stack.blobs,
      events: {
        publish: async (topic: string, message: OutgoingMessage) => {
          published.push({ topic, message });
          return stack.events.publish(topic, message);
        },
      },
      models: new DocumentModelRegistry(stack.documents, stack.blobs),
    };
    await stack.documents.create('runs/ipc-run', { status: 'running', n: 2, nested: { a: [1, 2] } });
    const child = fork(
      path.join(REPO_ROOT, 'bin', 'run-ts.js'),
      [path.join(__dirname, 'fixtures', 'ipc-ports-child.ts')],
      {
        cwd: REPO_ROOT,
        serialization: 'advanced',
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    servePortsOverIpc(child, ports);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`child exited ${code}: ${stderr}`);

    const result = JSON.parse(stdout.trim());
    expect(result.doc).toEqual({ status: 'running', n: 2, nested: { a: [1, 2] } });
    // Least privilege: every write to shared state is refused by the parent, whatever the child sends.
    for (const method of ['set', 'create', 'update', 'delete'])
      expect(result.writes[method]).toMatchObject({
        error: { message: `unknown port method documents.${method}` },
      });
    expect(result.writes['models.register']).toMatchObject({
      error: { message: 'unknown port method models.register' },
    });
    expect(result.missingDoc).toBe('undefined');
    expect(result.listed).toEqual([
      { id: 'ipc-run', data: { status: 'running', n: 2, nested: { a: [1, 2] } } },
    ]);
    expect(result.info).toMatchObject({ path: 'runs/ipc-run/blob.bin', size: 6 });
    expect(result.info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.backIsUint8Array).toBe(true);
    expect(result.back).toEqual([0, 1, 2, 250, 255, 128]);
    expect(result.missingBlob).toMatchObject({
      thrown: true,
      name: 'NotFoundError',
      path: 'runs/ipc-run/missing.bin',
      isError: true,
    });
    expect(result.messageId).toBe('string');
    // Only the job's methods are served: no transactions over IPC.
    expect(result.forbidden).toMatchObject({
      error: { message: 'unknown port method documents.runTransaction' },
    });
    expect(result.modelMissing).toBe('undefined');

    // The child's blob and event landed in the parent's stores; the document is unchanged.
    expect(await stack.documents.get('runs/ipc-run')).toEqual({
      status: 'running',
      n: 2,
      nested: { a: [1, 2] },
    });
    expect(Array.from(await stack.blobs.get('runs/ipc-run/blob.bin'))).toEqual([0, 1, 2, 250, 255, 128]);
    expect(published).toEqual([
      {
        topic: 'himas-test-topic',
        message: { data: '{"hello":"parent"}', attributes: { type: 'test.event', runId: 'ipc-run' } },
      },
    ]);
  });

  it('refuses to connect without an IPC channel', () => {
    const send = process.send;
    process.send = undefined;
    try {
      expect(() => connectPortsOverIpc()).toThrow(
        'this job expects to be started by a local HIMAS job runner (no IPC channel)',
      );
    } finally {
      process.send = send;
    }
  });
});

describe('servePortsOverIpc (parent side, with a stand-in child)', () => {
  function fakeChild() {
    const emitter = new EventEmitter();
    const sent: Array<Record<string, unknown>> = [];
    const child = Object.assign(emitter, {
      connected: true,
      send: (message: Record<string, unknown>) => void sent.push(message),
    }) as unknown as ChildProcess;
    return { child, sent, emit: (message: unknown) => emitter.emit('message', message) };
  }
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('answers calls to unknown ports or methods with an error, including inherited property names', async () => {
    const { child, sent, emit } = fakeChild();
    servePortsOverIpc(child, {} as JobPorts);
    const ports = ['nope', 'constructor', 'toString', '__proto__', 'hasOwnProperty'];
    for (const [id, port] of ports.entries()) {
      expect(() => emit({ himasRpc: 'call', id, port, method: 'get', args: [] })).not.toThrow();
    }
    emit({ himasRpc: 'call', id: 99, port: 'blobs', method: 'constructor', args: [] });
    await flush();
    expect(sent).toEqual([
      ...ports.map((port, id) => ({
        himasRpc: 'reply',
        id,
        error: { name: 'Error', message: `unknown port method ${port}.get` },
      })),
      {
        himasRpc: 'reply',
        id: 99,
        error: { name: 'Error', message: 'unknown port method blobs.constructor' },
      },
    ]);
  });

  it('ignores messages that are not calls, and carries error name, what and path', async () => {
    const { child, sent, emit } = fakeChild();
    const ports = {
      blobs: { get: async (p: string) => Promise.reject(new NotFoundError('blob', p)) },
      documents: { get: async () => ({ ok: 1 }) },
    } as unknown as JobPorts;
    servePortsOverIpc(child, ports);
    emit(null);
    emit('text');
    emit({ himasRpc: 'reply', id: 1 });
    emit({ himasRpc: 'call', id: 2, port: 'blobs', method: 'get', args: ['a/b.bin'] });
    emit({ himasRpc: 'call', id: 3, port: 'documents', method: 'get', args: ['runs/x'] });
    await flush();
    // Replies arrive as the calls finish, not in call order.
    expect([...sent].sort((a, b) => Number(a.id) - Number(b.id))).toEqual([
      {
        himasRpc: 'reply',
        id: 2,
        error: { name: 'NotFoundError', message: 'blob not found: a/b.bin', what: 'blob', path: 'a/b.bin' },
      },
      { himasRpc: 'reply', id: 3, result: { ok: 1 } },
    ]);
  });
});
