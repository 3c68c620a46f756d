import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { BlobHospitalLedgerStore } from '../adapters/ledger/blob-hospital-ledger-store';
import { hospitalStateDir, localHospitalLedger } from '../adapters/ledger/local-hospital-ledger';
import { withEmbeddedReader } from '../local/store-access';
import type { DocumentStore } from '../ports/document-store';
import type { HospitalLedgerStore } from '../ports/hospital-ledger-store';
import type { ModelRegistry } from '../ports/model-registry';
import type { Warehouse } from '../ports/warehouse';

export type ConsoleStackKind = 'embedded' | 'emulators' | 'gcp';

/** What every page reads: never a write (the console's identity in the cloud is read-only too). */
export interface ConsoleReadPorts {
  documents: DocumentStore;
  models: ModelRegistry;
  warehouse: Warehouse;
}

export interface ConsoleStore {
  kind: ConsoleStackKind;
  /** Where the data comes from, for the page footer. */
  location: string;
  read<T>(fn: (ports: ConsoleReadPorts) => Promise<T>): Promise<T>;
  /** The hospitals' privacy ledgers (their own folders locally; the published mirror in the cloud). */
  ledgers: HospitalLedgerStore;
  ledgerLocation: string;
  /** Whether a run's output folder (report.html) is on this machine. */
  localReports: boolean;
  close(): Promise<void>;
}

export class ConsoleStoreError extends Error {}

function enrolledOnly(store: HospitalLedgerStore, documents: DocumentStore): HospitalLedgerStore {
  return {
    read: (id) => store.read(id),
    append: () => Promise.reject(new Error('the console never writes a ledger')),
    hospitals: async () => (await documents.list('hospitals')).map((s) => s.id),
    describe: (id) => store.describe(id),
  };
}

/**
 * Opens the store the console reads: the embedded store in `home` (through the training process
 * while a run trains: src/local/store-access.ts), the emulator stack recorded in
 * `<home>/stack.json`, or Google Cloud from the environment (HIMAS_PROJECT, HIMAS_BUCKET, the
 * runtime's credentials), the same variables the functions read.
 */
export function openConsoleStore(kind: ConsoleStackKind, home: string, env = process.env): ConsoleStore {
  if (kind === 'embedded') {
    const stateDir = hospitalStateDir(home);
    return {
      kind,
      location: `embedded store ${home}`,
      read: async (fn) => {
        if (!existsSync(path.join(home, 'himas.duckdb')))
          throw new ConsoleStoreError(
            `no HIMAS store in ${home} yet: run \`himas train\` (or pass --home DIR)`,
          );
        return withEmbeddedReader(home, fn);
      },
      ledgers: localHospitalLedger(stateDir),
      ledgerLocation: stateDir,
      localReports: true,
      close: async () => undefined,
    };
  }
  // The emulator and cloud clients load only for those stacks: the embedded console starts without them.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { openCloudServices, openStackPorts, readStackConfig } =
    require('../config/stack-config') as typeof import('../config/stack-config');
  if (kind === 'emulators') {
    const { readStackState, stackConfigOf, stackFolder, stackStatePath } =
      require('../local/stack/stack-control') as typeof import('../local/stack/stack-control');
    const { DocumentWarehouse } =
      require('../adapters/document-warehouse/document-warehouse') as typeof import('../adapters/document-warehouse/document-warehouse');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const state = readStackState(home);
    if (!state)
      throw new ConsoleStoreError(
        `no emulator stack recorded in ${stackStatePath(home)}; \`himas stack up\` or \`himas train --stack emulators\` first`,
      );
    const ports = openStackPorts(stackConfigOf(state));
    const warehouse = new DocumentWarehouse(ports.documents);
    const stateDir = path.join(stackFolder(home), 'hospital-state');
    return {
      kind,
      location: `emulator stack ${stackStatePath(home)}`,
      read: (fn) => fn({ documents: ports.documents, models: ports.models, warehouse }),
      ledgers: localHospitalLedger(stateDir),
      ledgerLocation: stateDir,
      localReports: true,
      close: () => ports.close(),
    };
  }
  const config = readStackConfig({ ...env, HIMAS_STACK: 'gcp' });
  if (config.stack !== 'gcp') throw new ConsoleStoreError('--stack gcp needs HIMAS_PROJECT and HIMAS_BUCKET');
  const ports = openStackPorts(config);
  const { warehouse } = openCloudServices(config);
  const bucket = `gs://${config.bucket}`;
  return {
    kind,
    location: `Google Cloud project ${config.projectId}`,
    read: (fn) => fn({ documents: ports.documents, models: ports.models, warehouse }),
    // The published, signed copies the aggregator and guardian read, each entry read by name: the
    // console may get objects under ledgers/ but not list the bucket, so the hospitals are the
    // enrolled ones (hospitals/{id} in Firestore).
    ledgers: enrolledOnly(new BlobHospitalLedgerStore(ports.blobs, bucket, 'ledgers'), ports.documents),
    ledgerLocation: `${bucket}/ledgers`,
    localReports: false,
    close: () => ports.close(),
  };
}
