import * as path from 'node:path';
import { EmbeddedDatabase } from './embedded-database';
import { EmbeddedDocumentStore } from './embedded-document-store';
import { EmbeddedEventBus, type EmbeddedEventBusOptions } from './embedded-event-bus';
import { FileBlobStore } from './file-blob-store';
import { EmbeddedWarehouse } from './embedded-warehouse';

export { AsyncMutex } from './async-mutex';
export { parseDocumentPath, validateCollectionPath } from './document-paths';
export { EmbeddedDatabase, StoreInUseError } from './embedded-database';
export type { SqlExecutor, SqlParams, SqlValue } from './embedded-database';
export { EmbeddedDocumentStore } from './embedded-document-store';
export { EmbeddedEventBus } from './embedded-event-bus';
export type { EmbeddedEventBusOptions } from './embedded-event-bus';
export { FileBlobStore, validateBlobPath } from './file-blob-store';
export { EmbeddedWarehouse } from './embedded-warehouse';

export interface EmbeddedStack {
  database: EmbeddedDatabase;
  documents: EmbeddedDocumentStore;
  events: EmbeddedEventBus;
  blobs: FileBlobStore;
  /** Analytical tables on the same database file. */
  warehouse: EmbeddedWarehouse;
  /** Stops the bus, then closes the database. */
  close(): Promise<void>;
}

/** The embedded adapters on one home directory: `<home>/himas.duckdb` and `<home>/blobs`. */
export async function openEmbeddedStack(
  homeDir: string,
  options: { events?: EmbeddedEventBusOptions } = {},
): Promise<EmbeddedStack> {
  const database = await EmbeddedDatabase.open(path.join(homeDir, 'himas.duckdb'));
  const documents = new EmbeddedDocumentStore(database);
  const events = new EmbeddedEventBus(database, options.events);
  const blobs = new FileBlobStore(path.join(homeDir, 'blobs'));
  return {
    database,
    documents,
    events,
    blobs,
    warehouse: new EmbeddedWarehouse(database),
    async close() {
      await events.close();
      await documents.close();
      await database.close();
    },
  };
}
