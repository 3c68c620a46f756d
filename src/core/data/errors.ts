/** Bad options to `generateCohort`: names the field, the value given and what is allowed. */
export class CohortOptionsError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`invalid cohort option ${field}=${formatValue(value)}: allowed ${allowed}`);
    this.name = 'CohortOptionsError';
  }
}

/** A cohort file that cannot be read: the message names the source, the line and the column. */
export class CohortFormatError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(line === undefined ? `${source}: ${message}` : `${source} line ${line}: ${message}`);
    this.name = 'CohortFormatError';
  }
}

/** Statistics or a preprocessor that do not fit together (different feature sets, empty input). */
export class PreprocessingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreprocessingError';
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
