import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EmbeddedDatabase,
  EmbeddedDocumentStore,
  EmbeddedWarehouse,
  FileBlobStore,
  StoreInUseError,
} from '../adapters/embedded';
import { StoreReadClient, StoreServerGoneError } from '../adapters/embedded/store-read-client';
import { storeSocketPath } from '../adapters/embedded/store-read-protocol';
import { DocumentModelRegistry } from '../adapters/model-registry/document-model-registry';
import type { BlobStore } from '../ports/blob-store';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';
import type { Warehouse } from '../ports/warehouse';

/** What a reader of the embedded store gets: read-only documents and tables, models, blobs. */
export interface EmbeddedReadPorts {
  documents: DocumentStore;
  warehouse: Warehouse;
  models: ModelRegistry;
  blobs: BlobStore;
  /** How the reads reached the store: from the process training on it, or from the file itself. */
  via: 'training-process' | 'file';
}

/** How long a reader waits for a store another process holds without serving it (it is starting). */
const WAIT_FOR_STORE_MS = 10_000;
const RETRY_MS = 100;

/**
 * Reads the embedded store in `home` whether or not a `himas train` holds it. DuckDB lets one
 * process write a file and nobody else open it meanwhile, so:
 * - while a training process holds the store, it serves reads on a local socket
 *   (`storeSocketPath(home)`), and `fn` reads through it (it sees every committed write);
 * - otherwise the file is opened READ_ONLY for the duration of `fn` only, so a `himas train`
 *   starting meanwhile waits at most that long (training-store.ts retries), never fails.
 * Blobs (model files) are plain files, read directly either way. Reads are idempotent, so a run
 * that ends mid-read (its server goes away) is simply read again from the file.
 */
export async function withEmbeddedReader<T>(
  home: string,
  fn: (ports: EmbeddedReadPorts) => Promise<T>,
): Promise<T> {
  const file = path.join(home, 'himas.duckdb');
  const socketPath = storeSocketPath(home);
  const blobs = new FileBlobStore(path.join(home, 'blobs'));
  const deadline = Date.now() + WAIT_FOR_STORE_MS;
  for (;;) {
    const client = existsSync(socketPath) ? await StoreReadClient.connect(socketPath) : null;
    if (client) {
      try {
        return await fn(portsOf(client.documents, client.warehouse, blobs, 'training-process'));
      } catch (error) {
        if (!(error instanceof StoreServerGoneError)) throw error;
        continue; // the run ended mid-read: read the file instead
      } finally {
        client.close();
      }
    }
    let database: EmbeddedDatabase;
    try {
      database = await EmbeddedDatabase.open(file, { readOnly: true });
    } catch (error) {
      // Held by a process that does not serve reads (yet): a `himas train` between taking the
      // store and listening, or a writer that is not a training run. Wait for it, then say so.
      if (!(error instanceof StoreInUseError) || Date.now() > deadline) throw error;
      await sleep(RETRY_MS);
      continue;
    }
    try {
      const documents = new EmbeddedDocumentStore(database);
      return await fn(portsOf(documents, new EmbeddedWarehouse(database), blobs, 'file'));
    } finally {
      await database.close();
    }
  }
}

function portsOf(
  documents: DocumentStore,
  warehouse: Warehouse,
  blobs: BlobStore,
  via: EmbeddedReadPorts['via'],
): EmbeddedReadPorts {
  return { documents, warehouse, blobs, models: new DocumentModelRegistry(documents, blobs), via };
}
