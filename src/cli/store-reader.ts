import { openStackPorts } from '../config/stack-config';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';
import type { Warehouse } from '../ports/warehouse';
import { DocumentWarehouse } from '../adapters/document-warehouse/document-warehouse';
import { readStackState, stackConfigOf, stackStatePath } from '../local/stack/stack-control';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { withEmbeddedReader } from '../local/store-access';
import { UserError } from './user-error';

export type StoreKind = 'embedded' | 'emulators';

export function parseStoreKind(text: string | undefined): StoreKind {
  const kind = text ?? 'embedded';
  if (kind !== 'embedded' && kind !== 'emulators')
    throw new UserError(`--stack '${kind}' must be 'embedded' or 'emulators'`);
  return kind;
}

export interface StoreReader {
  documents: DocumentStore;
  models: ModelRegistry;
  /** The agents' tables: DuckDB beside the documents, or rows in the emulator stack's Firestore. */
  warehouse: Warehouse;
}

/**
 * Reads the documents, model versions and agents' tables of a stack: the embedded store in `home`
 * (read-only, also while a run trains on it),
 * or the running emulator stack recorded in `<home>/stack.json` (through the same adapters the
 * functions use).
 */
export async function withStoreReader<T>(
  home: string,
  kind: StoreKind,
  fn: (store: StoreReader) => Promise<T>,
): Promise<T> {
  if (kind === 'embedded') {
    if (!existsSync(path.join(home, 'himas.duckdb')))
      throw new UserError(`no HIMAS store in ${home} yet; run \`himas train\` first (or pass --home DIR)`);
    // Works while a `himas train` holds the store: it serves the reads (src/local/store-access.ts).
    return withEmbeddedReader(home, fn);
  }
  const state = readStackState(home);
  if (!state)
    throw new UserError(
      `no emulator stack recorded in ${stackStatePath(home)}; \`himas stack up\` or \`himas train --stack emulators\` first`,
    );
  const ports = openStackPorts(stackConfigOf(state));
  try {
    return await fn({ ...ports, warehouse: new DocumentWarehouse(ports.documents) });
  } finally {
    await ports.close();
  }
}
