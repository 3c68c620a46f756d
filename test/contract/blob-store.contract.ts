/**
 * The BlobStore contract, shared by every adapter (files here; Cloud Storage later). Each test
 * works under its own random prefix, so a shared bucket needs no cleanup between tests.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { BlobStore } from '../../src/ports/blob-store';
import { NotFoundError } from '../../src/ports/errors';

export interface BlobStoreFixture {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const bytesOf = (text: string) => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function describeBlobStoreContract(name: string, makeStore: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    let root: string;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      root = `contract-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    test('create stores only where nothing is stored: a second create returns null and changes nothing', async () => {
      const path = `${root}/ledgers/h1/00000000.json`;
      const first = await store.create(path, bytesOf('first'), { contentType: 'application/json' });
      expect(first).toEqual({ path, size: 5, sha256: sha256(bytesOf('first')) });
      expect(await store.create(path, bytesOf('second'))).toBeNull();
      expect(new TextDecoder().decode(await store.get(path))).toBe('first');
      await store.put(`${root}/other.bin`, bytesOf('x'));
      expect(await store.create(`${root}/other.bin`, bytesOf('y'))).toBeNull();
    });

    test('of concurrent creates of one path exactly one succeeds', async () => {
      const path = `${root}/ledgers/h2/00000000.json`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.create(path, bytesOf(`writer ${i}`))),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const winner = results.findIndex((r) => r !== null);
      expect(new TextDecoder().decode(await store.get(path))).toBe(`writer ${winner}`);
      expect((await store.list(`${root}/ledgers/h2/`)).length).toBe(1);
    });

    test('put returns size and sha256; get returns the same bytes; stat agrees', async () => {
      const bytes = new Uint8Array([0, 1, 2, 250, 255, 128]);
      const path = `${root}/runs/r1/rounds/1/updates/h1.bin`;
      const info = await store.put(path, bytes, { contentType: 'application/octet-stream' });
      expect(info).toEqual({ path, size: 6, sha256: sha256(bytes) });
      expect(Array.from(await store.get(path))).toEqual(Array.from(bytes));
      expect(await store.stat(path)).toEqual(info);
    });

    test('put replaces an existing blob', async () => {
      const path = `${root}/models/v1/model.json`;
      await store.put(path, bytesOf('{"v":1}'));
      const info = await store.put(path, bytesOf('{"v":2}'));
      expect(new TextDecoder().decode(await store.get(path))).toBe('{"v":2}');
      expect(info.sha256).toBe(sha256(bytesOf('{"v":2}')));
    });

    test('an empty blob is a blob', async () => {
      const info = await store.put(`${root}/empty`, new Uint8Array());
      expect(info.size).toBe(0);
      expect((await store.get(`${root}/empty`)).byteLength).toBe(0);
    });

    test('get of a missing blob throws NotFoundError; stat is undefined', async () => {
      await expect(store.get(`${root}/missing.bin`)).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.stat(`${root}/missing.bin`)).toBeUndefined();
    });

    test('list returns the paths under a prefix, sorted', async () => {
      for (const path of ['b/2.bin', 'a/1.bin', 'b/1.bin', 'b/sub/x.bin', 'bc/1.bin']) {
        await store.put(`${root}/${path}`, bytesOf(path));
      }
      expect(await store.list(`${root}/b/`)).toEqual([
        `${root}/b/1.bin`,
        `${root}/b/2.bin`,
        `${root}/b/sub/x.bin`,
      ]);
      expect(await store.list(`${root}/b`)).toEqual([
        `${root}/b/1.bin`,
        `${root}/b/2.bin`,
        `${root}/b/sub/x.bin`,
        `${root}/bc/1.bin`,
      ]);
      expect(await store.list(`${root}/nothing/`)).toEqual([]);
      expect(await store.list(`${root}/`)).toHaveLength(5);
    });

    test('delete removes a blob; deleting a missing blob is fine', async () => {
      await store.put(`${root}/x.bin`, bytesOf('x'));
      await store.delete(`${root}/x.bin`);
      expect(await store.stat(`${root}/x.bin`)).toBeUndefined();
      expect(await store.list(`${root}/`)).toEqual([]);
      await expect(store.delete(`${root}/x.bin`)).resolves.toBeUndefined();
    });

    test.each([
      ['a parent segment', '../escape.bin'],
      ['a parent segment inside', 'runs/../../escape.bin'],
      ['an absolute path', '/etc/passwd'],
      ['an empty segment', 'runs//r1.bin'],
      ['a trailing slash', 'runs/r1/'],
      ['an empty path', ''],
    ])('rejects %s with a clear error', async (_label, path) => {
      await expect(store.put(path, bytesOf('x'))).rejects.toThrow(/path/i);
      await expect(store.get(path)).rejects.toThrow(/path/i);
    });
  });
}
