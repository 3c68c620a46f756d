/**
 * A storage fault of the embedded store — its disk is full, it cannot be written, or a file in it
 * is damaged — named by file, with what to do. The embedded adapters raise it in place of the
 * file system's or DuckDB's error; the CLI prints it as one line (exit code `storage`). Whatever
 * was accepted before stays as it was: DuckDB commits through its write-ahead log and blobs are
 * written to a temporary file and renamed, so a failed write changes nothing already stored.
 */
export type StorageProblem = 'full' | 'read-only' | 'damaged';

export class StoreStorageError extends Error {
  constructor(
    readonly problem: StorageProblem,
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${describeProblem(problem, file)} (${detail}); ${ADVICE[problem]}`, options);
    this.name = 'StoreStorageError';
  }
}

const ADVICE: Record<StorageProblem, string> = {
  full: 'free space on that disk (or pass --home DIR on another), then rerun or `himas train --resume RUN_ID`: nothing accepted was lost',
  'read-only':
    'make it writable (file permissions, a read-only mount), or pass --home DIR, then rerun: nothing was changed',
  damaged:
    'restore it from a backup, or move it aside to start a new store (the runs it held are then gone from HIMAS); HIMAS will not use a damaged file',
};

function describeProblem(problem: StorageProblem, file: string): string {
  switch (problem) {
    case 'full':
      return `the disk holding ${file} is full`;
    case 'read-only':
      return `${file} cannot be written`;
    case 'damaged':
      return `${file} is damaged`;
  }
}

// errno codes of Node's fs, and the strerror texts DuckDB puts in its IO errors.
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);
const FULL_TEXT = /No space left on device|Disk quota exceeded|File too large/i;
const READ_ONLY_TEXT = /Read-only file system|Permission denied|Operation not permitted/i;
const DAMAGED_TEXT =
  /not a valid DuckDB database file|Corrupt database file|Could not read enough bytes|checksum .* does not match|INTERNAL Error: .*(block|serializ)/i;

/** The storage fault `error` is, for an operation on `file`; undefined for any other error. */
export function storageErrorOf(error: unknown, file: string): StoreStorageError | undefined {
  if (error instanceof StoreStorageError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = String((error as Error | undefined)?.message ?? error);
  const detail = firstLine(message);
  if ((code && FULL_CODES.has(code)) || FULL_TEXT.test(message))
    return new StoreStorageError('full', file, detail, { cause: error });
  if ((code && READ_ONLY_CODES.has(code)) || READ_ONLY_TEXT.test(message))
    return new StoreStorageError('read-only', file, detail, { cause: error });
  if (DAMAGED_TEXT.test(message)) return new StoreStorageError('damaged', file, detail, { cause: error });
  return undefined;
}

/** Rethrows `error` as a StoreStorageError when it is one, unchanged otherwise. */
export function rethrowStorageError(error: unknown, file: string): never {
  throw storageErrorOf(error, file) ?? error;
}

/**
 * DuckDB's errors: only its I/O, fatal, internal and commit errors can be the file's fault (a constraint
 * or syntax error whose text happens to say "permission" is not).
 */
export function rethrowDatabaseError(error: unknown, file: string): never {
  const message = String((error as Error | undefined)?.message ?? error);
  if (/^(IO|FATAL|INTERNAL|TransactionContext) Error/i.test(message) || DAMAGED_TEXT.test(message))
    rethrowStorageError(error, file);
  throw error;
}

const firstLine = (text: string) => text.split('\n')[0]!.slice(0, 200);
