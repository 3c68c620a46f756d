import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { connectPortsOverIpc, servePortsOverIpc } from '../../../src/local/ipc/ipc-ports';
import type { OutgoingMessage } from '../../../src/ports/event-bus';

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

  it('serves documents, blobs, events and models to a child process', async () => {
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
    expect(result.created).toBe(true);
    expect(result.createdAgain).toBe(false);
    expect(result.doc).toEqual({ status: 'running', n: 1, nested: { a: [1, 2] } });
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
    expect(result.updateMissing).toEqual({ name: 'NotFoundError' });
    expect(result.messageId).toBe('string');
    // Only the job's methods are served: no transactions over IPC.
    expect(result.forbidden).toMatchObject({
      error: { message: 'unknown port method documents.runTransaction' },
    });
    expect(result.modelMissing).toBe('undefined');

    // The child's writes landed in the parent's stores.
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
