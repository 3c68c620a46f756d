import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { EmbeddedDatabase } from '../adapters/embedded';
import { openEmbeddedPlatform } from '../local/embedded-platform';
import type { TrainingPlatform } from '../local/workflow-training';
import { exitCode } from './exit-codes';
import { UserError } from './user-error';

/**
 * The embedded store as `himas train` takes it. Another process (a running `himas train`) holding
 * it is a one-line refusal with its own exit code, found before any work: `holdStore` takes an
 * existing store first thing (a store that does not exist yet is nobody's), and keeps it until the
 * platform opens on the same handle (one database per file per process).
 */
function busy(error: unknown): Error {
  if ((error as Error).name !== 'StoreInUseError') return error as Error;
  return new UserError(
    `${(error as Error).message}: wait for it to finish (nothing was written), or train in another store with --home DIR`,
    exitCode('busy'),
  );
}

export async function holdStore(home: string): Promise<{ release(): Promise<void> }> {
  const file = path.join(home, 'himas.duckdb');
  if (!existsSync(file)) return { release: async () => undefined };
  try {
    const database = await EmbeddedDatabase.open(file);
    return { release: () => database.close() };
  } catch (error) {
    throw busy(error);
  }
}

export async function openTrainingStore(
  options: Parameters<typeof openEmbeddedPlatform>[0],
): Promise<TrainingPlatform> {
  try {
    return await openEmbeddedPlatform(options);
  } catch (error) {
    throw busy(error);
  }
}
