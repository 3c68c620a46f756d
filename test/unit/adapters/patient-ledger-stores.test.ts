import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileBlobStore } from '../../../src/adapters/embedded/file-blob-store';
import { BlobPatientLedgerStore } from '../../../src/adapters/ledger/blob-patient-ledger-store';
import { FilePatientLedgerStore } from '../../../src/adapters/ledger/file-patient-ledger-store';
import { describePatientLedgerStoreContract } from '../../contract/patient-ledger-store.contract';

describePatientLedgerStoreContract('files next to the cohort', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-file-'));
  const open = () => new FilePatientLedgerStore(dir);
  return {
    open,
    plant: async (hospital, fingerprint, name, text) =>
      writeFileSync(path.join(open().describe(hospital, fingerprint), name), text),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describePatientLedgerStoreContract('objects in a blob store (files)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-blob-'));
  const blobs = new FileBlobStore(dir);
  return {
    open: () => new BlobPatientLedgerStore(new FileBlobStore(dir), `file://${dir}`),
    plant: async (hospital, fingerprint, name, text) => {
      await blobs.put(`privacy-ledger/${hospital}/${fingerprint}/${name}`, Buffer.from(text));
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
