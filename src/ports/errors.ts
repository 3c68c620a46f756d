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
