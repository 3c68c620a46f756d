import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../local/embedded-platform';
import { UserError } from './user-error';

/**
 * Opens an existing embedded store to read it (no aggregator attached, no jobs run), runs `fn`, and
 * closes it. A missing store is a user error that says what to do.
 */
export async function withExistingStore<T>(
  home: string,
  fn: (platform: EmbeddedPlatform) => Promise<T>,
): Promise<T> {
  if (!existsSync(path.join(home, 'himas.duckdb'))) {
    throw new UserError(`no HIMAS store in ${home} yet; run \`himas train\` first (or pass --home DIR)`);
  }
  const platform = await openEmbeddedPlatform({
    home,
    dataDir: '',
    logger: { write: () => undefined },
    withAggregator: false,
  });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}
