/** Errors every adapter of a port raises the same way, so callers can branch on them. */
export class NotFoundError extends Error {
  constructor(
    readonly what: string,
    readonly path: string,
  ) {
    super(`${what} not found: ${path}`);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends Error {
  constructor(readonly path: string) {
    super(`already exists: ${path}`);
    this.name = 'AlreadyExistsError';
  }
}

/** A transaction lost a race with a concurrent writer and gave up after its retries. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * A stored object whose bytes are not the ones recorded for it (truncated, altered): nothing is
 * computed from it. `location` names where it lives for the operator (a file, a gs:// URL).
 */
export class DamagedBlobError extends Error {
  constructor(
    readonly blobPath: string,
    readonly location: string,
    detail: string,
  ) {
    super(
      `${location} is damaged (${detail}); restore it from a backup (or rerun the run that wrote it): HIMAS will not use it, and nothing else was changed`,
    );
    this.name = 'DamagedBlobError';
  }
}
