import { randomBytes } from 'node:crypto';

/** The embedded store folder: $HIMAS_HOME or .himas in the current directory. */
export const defaultHome = (): string => process.env.HIMAS_HOME || '.himas';

/** `run-20261127-183012-a1b2`: sortable by time, unique enough for one laptop. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${stamp}-${randomBytes(2).toString('hex')}`;
}
