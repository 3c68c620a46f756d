import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from './user-error';

/**
 * Where the CLI writes (a run folder, the store, an output file): a problem with the place is one
 * line naming the path and the cause in words, never a raw ENOENT/EROFS with a stack.
 */
const CAUSES: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted there',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  ENOENT: 'a folder on the way does not exist',
  ENAMETOOLONG: 'the path is too long',
};

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === undefined) return (error as Error)?.message ?? String(error);
  return `${CAUSES[code] ?? 'it cannot be written'} (${code})`;
}

/** A UserError for an fs error when the cause is the place (read-only, missing, no space), else the error. */
export function explainWriteError(error: unknown, what: string, where: string): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && code in CAUSES)
    return new UserError(`cannot write ${what} ${where}: ${describeFsError(error)}`);
  return error as Error;
}

/**
 * Checks, without creating anything, that `dir` is a folder that exists and is writable, or can be
 * created: its nearest existing ancestor is a writable folder. Throws a UserError naming the path
 * and the cause. (Creating it is left to the moment the inputs are known to be good.)
 */
export function checkWritableFolder(dir: string, what: string): void {
  let existing = path.resolve(dir);
  while (!existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const cause = (() => {
    if (!statSync(existing).isDirectory())
      return existing === path.resolve(dir)
        ? 'it is a file, not a folder'
        : `${existing} is a file, not a folder`;
    try {
      accessSync(existing, constants.W_OK);
      return null;
    } catch (error) {
      return existing === path.resolve(dir)
        ? describeFsError(error)
        : `${existing} cannot be written: ${describeFsError(error)}`;
    }
  })();
  if (cause) throw new UserError(`cannot write ${what} ${dir}: ${cause}`);
}

/** mkdir -p with the one-line explanation. */
export function makeFolder(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw explainWriteError(error, what, dir);
  }
}

/** Before any work: the folder of an output file the user named exists and is writable. */
export function checkOutputFile(file: string, what: string): void {
  const folder = path.dirname(path.resolve(file));
  if (!existsSync(folder))
    throw new UserError(`cannot write ${what} ${file}: the folder ${folder} does not exist`);
  if (!statSync(folder).isDirectory())
    throw new UserError(`cannot write ${what} ${file}: ${folder} is a file, not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new UserError(`cannot write ${what} ${file}: ${describeFsError(error)}`);
  }
}

/**
 * Writes an output file the user named. Its folder must exist (we do not guess folders into being
 * from a typo): a missing one is named.
 */
export async function writeOutputFile(
  file: string,
  content: string | Uint8Array,
  what: string,
): Promise<void> {
  checkOutputFile(file, what);
  try {
    await writeFile(file, content);
  } catch (error) {
    throw explainWriteError(error, what, file);
  }
}
