import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileBlobStore } from '../../../src/adapters/embedded/file-blob-store';
import {
  BlobHospitalLedgerStore,
  LedgerCorruptError,
} from '../../../src/adapters/ledger/blob-hospital-ledger-store';
import { localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import { signLedgerEntry } from '../../../src/runtime/ledger-signing';
import {
  describeHospitalLedgerStoreContract,
  ledgerEntry,
} from '../../contract/hospital-ledger-store.contract';

describeHospitalLedgerStoreContract("a hospital's local state folder", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-local-'));
  const blobs = new FileBlobStore(dir);
  return {
    open: () => localHospitalLedger(dir),
    plant: async (hospital, sequence, text) =>
      void (await blobs.put(
        `ledgers/${hospital}/${String(sequence).padStart(8, '0')}.json`,
        Buffer.from(text),
      )),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeHospitalLedgerStoreContract('the published mirror in a shared blob store', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-mirror-'));
  const blobs = new FileBlobStore(dir);
  return {
    open: () => new BlobHospitalLedgerStore(new FileBlobStore(dir), 'the shared store'),
    plant: async (hospital, sequence, text) =>
      void (await blobs.put(
        `ledgers/${hospital}/${String(sequence).padStart(8, '0')}.json`,
        Buffer.from(text),
      )),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('parsed entries kept between reads (FileBlobStore fingerprints)', () => {
  const key = generateKeyPairSync('ed25519').privateKey;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const entryFile = (hospital: string, sequence: number) =>
    path.join(dir, 'ledgers', hospital, `${String(sequence).padStart(8, '0')}.json`);

  /** Two entries, read once so both are kept (settled at once: settledMs 0). */
  async function keptLedger(hospital: string): Promise<BlobHospitalLedgerStore> {
    const store = new BlobHospitalLedgerStore(new FileBlobStore(dir), dir, 'ledgers', 0);
    const first = ledgerEntry(hospital, 0, null);
    expect(await store.append(hospital, signLedgerEntry(first, key))).toBe(true);
    expect(await store.append(hospital, signLedgerEntry(ledgerEntry(hospital, 1, first), key))).toBe(true);
    expect(await store.read(hospital)).toHaveLength(2);
    return store;
  }

  test('a kept entry that is deleted is missed: the next read reports the ledger shorter', async () => {
    const store = await keptLedger('h1');
    unlinkSync(entryFile('h1', 1));
    expect(await store.read('h1')).toHaveLength(1);
  });

  test('a kept entry deleted in the middle is a gap, not served from memory', async () => {
    const store = await keptLedger('h2');
    unlinkSync(entryFile('h2', 0));
    await expect(store.read('h2')).rejects.toThrow(LedgerCorruptError);
  });

  test('a kept entry altered in place is read again and refused', async () => {
    const store = await keptLedger('h3');
    const file = entryFile('h3', 1);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"sequence":1', '"sequence":17'));
    await expect(store.read('h3')).rejects.toThrow(/malformed/);
  });

  test('a kept entry replaced by another file (a rename over it) is read again', async () => {
    const store = await keptLedger('h4');
    const file = entryFile('h4', 1);
    writeFileSync(
      `${file}.new`,
      readFileSync(file, 'utf8').replace('"budgetEpsilon":3', '"budgetEpsilon":9'),
    );
    renameSync(`${file}.new`, file);
    const [, second] = await store.read('h4');
    expect(second.entry.budgetEpsilon).toBe(9);
  });

  test('with the default settling, an alteration of the same size right after a read is seen', async () => {
    // The entry was just written, so it is not kept: it is read again even if size, mtime and ctime
    // looked unchanged within one tick of the file system's clock (which a test cannot force).
    const store = new BlobHospitalLedgerStore(new FileBlobStore(dir), dir, 'ledgers');
    const first = ledgerEntry('h5', 0, null);
    expect(await store.append('h5', signLedgerEntry(first, key))).toBe(true);
    expect(await store.read('h5')).toHaveLength(1);
    const file = entryFile('h5', 0);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"budgetEpsilon":3', '"budgetEpsilon":4'));
    const [entry] = await store.read('h5');
    expect(entry.entry.budgetEpsilon).toBe(4);
  });

  test('entries served from memory are frozen: no reader can change what another reads', async () => {
    const store = await keptLedger('h6');
    const [entry] = await store.read('h6');
    expect(Object.isFrozen(entry.entry.mechanisms[0])).toBe(true);
  });
});
