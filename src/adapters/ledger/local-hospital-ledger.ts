import * as path from 'node:path';
import { FileBlobStore } from '../embedded/file-blob-store';
import { BlobHospitalLedgerStore } from './blob-hospital-ledger-store';
import { BlobHospitalSiteStore } from '../site/blob-hospital-site-store';

/**
 * Where simulated hospitals keep their own privacy ledgers on a laptop: `<state dir>/ledgers/<id>/`,
 * one folder per hospital identity (next to its key in the store folder, `.himas` by default), not
 * next to any data file: the same hospital spends the same budget whatever files it trains on.
 */
export function hospitalStateDir(home: string): string {
  return path.join(home, 'hospital-state');
}

export function localHospitalLedger(stateDir: string): BlobHospitalLedgerStore {
  return new BlobHospitalLedgerStore(new FileBlobStore(stateDir), stateDir, 'ledgers');
}

/** The simulated hospital's own site state (its intercepts), next to its ledger. */
export function localHospitalSiteStore(stateDir: string): BlobHospitalSiteStore {
  return new BlobHospitalSiteStore(new FileBlobStore(stateDir), stateDir);
}
