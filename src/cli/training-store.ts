import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedDatabase, EmbeddedDocumentStore, EmbeddedWarehouse } from '../adapters/embedded';
import { storeSocketPath } from '../adapters/embedded/store-read-protocol';
import { answers, serveStoreReads, type StoreReadServer } from '../adapters/embedded/store-read-server';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../local/embedded-platform';
import type { TrainingPlatform } from '../local/workflow-training';
import { exitCode } from './exit-codes';
import { UserError } from './user-error';

/**
 * The embedded store as `himas train` takes it. Another `himas train` holding it is a one-line
 * refusal with its own exit code, found before any work: `holdStore` takes an existing store first
 * thing (a store that does not exist yet is nobody's), and keeps it until the platform opens on the
 * same handle (one database per file per process). While it holds the store, the training process
 * serves reads of it on a local socket, so `himas status`, `agents`, `audit` and `ui` work during
 * the run (src/local/store-access.ts).
 */
function busy(error: unknown): Error {
  if ((error as Error).name !== 'StoreInUseError') return error as Error;
  return new UserError(
    `${(error as Error).message}: wait for it to finish (nothing was written), or train in another store with --home DIR`,
    exitCode('busy'),
  );
}

/** Readers (`himas status`, the console) hold the file for one request at a time: wait that long. */
const WAIT_FOR_READERS_MS = 5_000;

// One server per store this process trains on, started by whichever of holdStore and
// openTrainingStore opens the file first.
const servers = new Map<string, Promise<StoreReadServer>>();

function serveOnce(home: string, database: EmbeddedDatabase): void {
  const key = path.resolve(home);
  if (servers.has(key)) return;
  servers.set(
    key,
    serveStoreReads(storeSocketPath(home), {
      documents: new EmbeddedDocumentStore(database),
      warehouse: new EmbeddedWarehouse(database),
    }),
  );
}

async function stopServing(home: string): Promise<void> {
  const key = path.resolve(home);
  const server = servers.get(key);
  servers.delete(key);
  await (await server)?.close();
}

/** Opens the file for writing; a reader holding it briefly is waited for, another run is not. */
async function openForTraining(file: string, home: string): Promise<EmbeddedDatabase> {
  const deadline = Date.now() + WAIT_FOR_READERS_MS;
  for (;;) {
    try {
      return await EmbeddedDatabase.open(file);
    } catch (error) {
      const training = await answers(storeSocketPath(home));
      if ((error as Error).name !== 'StoreInUseError' || training || Date.now() > deadline) throw busy(error);
      await sleep(100);
    }
  }
}

export async function holdStore(home: string): Promise<{ release(): Promise<void> }> {
  const file = path.join(home, 'himas.duckdb');
  if (!existsSync(file)) return { release: () => stopServing(home) };
  const database = await openForTraining(file, home);
  serveOnce(home, database);
  return {
    release: async () => {
      await stopServing(home);
      await database.close();
    },
  };
}

export async function openTrainingStore(
  options: Parameters<typeof openEmbeddedPlatform>[0],
): Promise<TrainingPlatform> {
  let platform: EmbeddedPlatform;
  try {
    platform = await openEmbeddedPlatform(options);
  } catch (error) {
    throw busy(error);
  }
  serveOnce(options.home, platform.stack.database);
  const close = platform.close.bind(platform);
  // The server reads through this database: it stops before the last handle closes the file.
  return Object.assign(platform, {
    close: async () => {
      await stopServing(options.home);
      await close();
    },
  });
}
