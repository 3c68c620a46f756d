/**
 * GcsBlobStore at the request level: there is no Cloud Storage emulator, so the real client talks
 * to a loopback fake of the JSON API (fake-gcs-server.ts). The BlobStore contract runs against it,
 * then tests pin what the adapter sends (checksums, sha256 metadata, resumable sessions) and how
 * it handles a 404 and a 503 followed by success. Real buckets are exercised in deployment.
 */
import { createHash } from 'node:crypto';
import { createStorage, GcsBlobStore } from '../../src/adapters/gcp';
import { NotFoundError } from '../../src/ports/errors';
import { describeBlobStoreContract } from '../contract/blob-store.contract';
import { describeHospitalLedgerStoreContract } from '../contract/hospital-ledger-store.contract';
import { BlobHospitalLedgerStore } from '../../src/adapters/ledger/blob-hospital-ledger-store';
import { FakeGcsServer } from './fake-gcs-server';

const BUCKET = 'himas-test-blobs';

describe('GcsBlobStore against a fake Cloud Storage JSON API', () => {
  let server: FakeGcsServer;
  let store: GcsBlobStore;

  beforeAll(async () => {
    server = await new FakeGcsServer(BUCKET).start();
    // A custom endpoint makes the client skip authentication; short retry delays keep tests fast.
    store = new GcsBlobStore(
      createStorage('himas-test', server.endpoint, { retryDelayMultiplier: 1.1 }),
      BUCKET,
      {
        resumableThresholdBytes: 64 * 1024,
      },
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  describeBlobStoreContract('Cloud Storage (fake JSON API)', async () => ({
    store,
    cleanup: async () => undefined,
  }));

  // The hospital's ledger in its own bucket, as the cloud job keeps it (HIMAS_LEDGER_BUCKET).
  describeHospitalLedgerStoreContract('objects in Cloud Storage (fake JSON API)', async () => ({
    open: () => new BlobHospitalLedgerStore(store, `gs://${BUCKET}`),
    plant: async (hospital, sequence, text) => {
      await store.put(`ledgers/${hospital}/${String(sequence).padStart(8, '0')}.json`, Buffer.from(text));
    },
    cleanup: async () => undefined,
  }));

  test('create sends the precondition ifGenerationMatch=0, so Cloud Storage itself refuses a second create', async () => {
    server.requests.length = 0;
    expect(await store.create('ledgers/hx/00000000.json', new Uint8Array([1]))).not.toBeNull();
    expect(await store.create('ledgers/hx/00000000.json', new Uint8Array([2]))).toBeNull();
    const uploads = server.requests.filter((request) => request.url.startsWith('/upload/'));
    expect(uploads.map((u) => u.status)).toEqual([200, 412]);
    expect(uploads.every((u) => u.url.includes('ifGenerationMatch=0'))).toBe(true);
    expect(Array.from(await store.get('ledgers/hx/00000000.json'))).toEqual([1]);
  });

  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

  test('a small put is one multipart upload carrying the sha256 as object metadata; stat reads it back', async () => {
    server.requests.length = 0;
    const bytes = new Uint8Array([1, 2, 3]);
    await store.put('runs/r1/rounds/0001/updates/h1.bin', bytes);
    const uploads = server.requests.filter((request) => request.url.startsWith('/upload/'));
    expect(uploads).toHaveLength(1);
    expect(uploads[0].url).toContain('uploadType=multipart');
    expect(server.objects.get('runs/r1/rounds/0001/updates/h1.bin')?.metadata).toEqual({
      sha256: sha256(bytes),
    });
    server.requests.length = 0;
    expect(await store.stat('runs/r1/rounds/0001/updates/h1.bin')).toEqual({
      path: 'runs/r1/rounds/0001/updates/h1.bin',
      size: 3,
      sha256: sha256(bytes),
    });
    // Answered from metadata: no download.
    expect(server.requests.map((request) => request.url).some((url) => url.includes('alt=media'))).toBe(
      false,
    );
  });

  test('a large put goes up as a resumable session and reads back intact', async () => {
    server.requests.length = 0;
    const bytes = new Uint8Array(300 * 1024).map((_, index) => (index * 31) % 251);
    const info = await store.put('models/v1/weights.bin', bytes);
    expect(info.sha256).toBe(sha256(bytes));
    const urls = server.requests.map((request) => `${request.method} ${request.url}`);
    expect(urls.some((url) => url.startsWith('POST') && url.includes('uploadType=resumable'))).toBe(true);
    expect(urls.some((url) => url.startsWith('PUT') && url.includes('upload_id='))).toBe(true);
    expect(sha256(await store.get('models/v1/weights.bin'))).toBe(sha256(bytes));
  });

  test('a 404 on download is NotFoundError; on metadata stat is undefined', async () => {
    await expect(store.get('nope/missing.bin')).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.stat('nope/missing.bin')).toBeUndefined();
  });

  test('a 503 on upload is retried and the put succeeds', async () => {
    server.requests.length = 0;
    server.failNext({ method: 'POST', urlIncludes: '/upload/', status: 503 });
    await store.put('retry/upload.bin', new Uint8Array([9, 9]));
    const uploads = server.requests.filter((request) => request.url.startsWith('/upload/'));
    expect(uploads.map((request) => request.status)).toEqual([503, 200]);
    expect(Array.from(await store.get('retry/upload.bin'))).toEqual([9, 9]);
  });

  test('a 503 on download is retried and the get succeeds', async () => {
    await store.put('retry/download.bin', new Uint8Array([7]));
    server.requests.length = 0;
    server.failNext({ method: 'GET', urlIncludes: 'alt=media', status: 503 });
    expect(Array.from(await store.get('retry/download.bin'))).toEqual([7]);
    expect(
      server.requests.filter((request) => request.url.includes('alt=media')).map((r) => r.status),
    ).toEqual([503, 200]);
  });

  test('an upload whose checksum the service reports differently fails instead of storing silently', async () => {
    server.corruptNextUploadChecksum = true;
    await expect(store.put('corrupt/x.bin', new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(/did not match/);
    // The client deletes what it cannot vouch for.
    expect(await store.stat('corrupt/x.bin')).toBeUndefined();
  });
});
