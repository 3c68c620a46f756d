import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FileBlobStore } from '../../../src/adapters/embedded';
import { describeBlobStoreContract } from '../../contract/blob-store.contract';

describeBlobStoreContract('files', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'himas-blobs-'));
  return { store: new FileBlobStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FileBlobStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'himas-blobs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('stores a blob at the same relative file path and leaves no temporary file', async () => {
    const store = new FileBlobStore(root);
    await store.put('models/v1/model.json', new TextEncoder().encode('{}'));
    expect(await readdir(path.join(root, 'models', 'v1'))).toEqual(['model.json']);
  });

  test('concurrent puts of one path leave one complete version', async () => {
    const store = new FileBlobStore(root);
    const versions = Array.from({ length: 10 }, (_, i) => new Uint8Array(64 * 1024).fill(i));
    await Promise.all(versions.map((bytes) => store.put('runs/r1/update.bin', bytes)));
    const stored = await store.get('runs/r1/update.bin');
    expect(stored.byteLength).toBe(64 * 1024);
    expect(new Set(stored).size).toBe(1);
    expect(await readdir(path.join(root, 'runs', 'r1'))).toEqual(['update.bin']);
  });
});
