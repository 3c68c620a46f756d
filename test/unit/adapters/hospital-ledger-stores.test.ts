import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileBlobStore } from '../../../src/adapters/embedded/file-blob-store';
import { BlobHospitalLedgerStore } from '../../../src/adapters/ledger/blob-hospital-ledger-store';
import { localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import { describeHospitalLedgerStoreContract } from '../../contract/hospital-ledger-store.contract';

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
