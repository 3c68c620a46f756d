import { fromJs, isMap, type WfValue } from './values';

/**
 * Error tags documented in https://cloud.google.com/workflows/docs/reference/syntax/error-types.
 * An engine-raised error is a map `{ message, tags }` (plus `code`, `body`... for HttpError).
 */
export type ErrorTag =
  | 'AuthError'
  | 'ConnectionError'
  | 'ConnectionFailedError'
  | 'HttpError'
  | 'IndexError'
  | 'KeyError'
  | 'OperationError'
  | 'ParallelNestingError'
  | 'RecursionError'
  | 'ResourceLimitError'
  | 'ResponseTypeError'
  | 'SystemError'
  | 'TimeoutError'
  | 'TypeError'
  | 'UnhandledBranchError'
  | 'ValueError'
  | 'ZeroDivisionError';

/** Where a runtime error happened: the workflow file, subworkflow, step and line. */
export interface StepLocation {
  file?: string;
  subworkflow: string;
  step: string;
  line?: number;
}

/**
 * A workflow exception in flight: `value` is what `except: as: e` sees (a map for engine errors,
 * or whatever `raise` raised). `location` is the step that raised it first.
 */
export class WorkflowRaise extends Error {
  location?: StepLocation;
  constructor(readonly value: WfValue) {
    super(describeErrorValue(value));
    this.name = 'WorkflowRaise';
  }
}

export function errorValue(
  tag: ErrorTag | ErrorTag[],
  message: string,
  extra: Record<string, unknown> = {},
): WfValue {
  const tags = Array.isArray(tag) ? tag : [tag];
  return fromJs({ ...extra, message, tags });
}

export function raiseError(
  tag: ErrorTag | ErrorTag[],
  message: string,
  extra?: Record<string, unknown>,
): never {
  throw new WorkflowRaise(errorValue(tag, message, extra));
}

/**
 * What a bound callable (connector, http.*) throws to make the workflow see a specific error map,
 * e.g. `throw new CallableError({ message: 'Not Found', tags: ['HttpError'], code: 404 })`.
 */
export class CallableError extends Error {
  constructor(readonly error: Record<string, unknown> & { message: string; tags: string[] }) {
    super(error.message);
    this.name = 'CallableError';
  }
}

export function errorTags(value: WfValue): string[] {
  if (!isMap(value)) return [];
  const tags = value.get('tags');
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

export function describeErrorValue(value: WfValue): string {
  if (typeof value === 'string') return value;
  if (isMap(value)) {
    const message = value.get('message');
    const tags = errorTags(value);
    return `${tags.length ? `${tags.join(', ')}: ` : ''}${typeof message === 'string' ? message : '(no message)'}`;
  }
  return String(value);
}

/**
 * What the local engine cannot do here, as opposed to a workflow error: a call to a host that is
 * not loopback, a connector no one bound. It ends the execution at once (no retry policy or
 * `except` sees it, since in the cloud the call would have gone through) with a message saying
 * what to do instead.
 */
export class LocalEnvironmentError extends Error {
  location?: StepLocation;
  constructor(message: string) {
    super(message);
    this.name = 'LocalEnvironmentError';
  }
}

/** A deploy-time problem found by the parser or the validator. */
export interface ValidationIssue {
  file: string;
  line?: number;
  step?: string;
  message: string;
}

export class WorkflowSyntaxError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'WorkflowSyntaxError';
  }
}

export function formatIssue(i: ValidationIssue): string {
  return `${i.file}${i.line ? `:${i.line}` : ''}: ${i.step ? `step '${i.step}': ` : ''}${i.message}`;
}
