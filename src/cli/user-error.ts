/**
 * An error caused by the user's input (a flag, a file, a value). The CLI prints its message as one
 * line, without a stack trace, and exits non-zero. Everything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
