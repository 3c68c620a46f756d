import { raiseError } from './errors';
import { DEFAULT_BACKOFF } from './stdlib/retry-policies';
import { isMap, isNumber, typeName, WfFunctionRef, type WfValue } from './values';

/**
 * A retry policy (https://cloud.google.com/workflows/docs/reference/syntax/retrying): a predicate
 * (a subworkflow or ${http.default_retry_predicate}...), `max_retries` (not counting the first
 * attempt) and a truncated exponential backoff: the first retry waits `initial_delay` seconds, each
 * next one `multiplier` times longer, never more than `max_delay`.
 */
export interface RetryPolicy {
  predicate: string;
  maxRetries: number;
  initialDelaySeconds: number;
  maxDelaySeconds: number;
  multiplier: number;
}

export function toRetryPolicy(v: WfValue): RetryPolicy {
  if (!isMap(v))
    raiseError('TypeError', `retry must be a policy map or \${http.default_retry}, got ${typeName(v)}`);
  const predicate = v.get('predicate');
  if (!(predicate instanceof WfFunctionRef))
    raiseError(
      'TypeError',
      'retry.predicate must name a subworkflow or a predicate such as ${http.default_retry_predicate}',
    );
  const num = (x: WfValue | undefined, name: string, dflt: number): number => {
    if (x === undefined || x === null) return dflt;
    if (!isNumber(x) || Number(x) < 0)
      raiseError('ValueError', `retry: ${name} must be a non-negative number`);
    return Number(x);
  };
  const backoff = v.get('backoff');
  const b = isMap(backoff ?? null) ? (backoff as Map<string, WfValue>) : new Map<string, WfValue>();
  return {
    predicate: predicate.name,
    maxRetries: num(v.get('max_retries'), 'max_retries', 0),
    initialDelaySeconds: num(b.get('initial_delay'), 'initial_delay', DEFAULT_BACKOFF.initialDelaySeconds),
    maxDelaySeconds: num(b.get('max_delay'), 'max_delay', DEFAULT_BACKOFF.maxDelaySeconds),
    multiplier: num(b.get('multiplier'), 'multiplier', DEFAULT_BACKOFF.multiplier),
  };
}

/** The delay before retry number `retry` (0-based). */
export function backoffDelaySeconds(p: RetryPolicy, retry: number): number {
  return Math.min(p.initialDelaySeconds * p.multiplier ** retry, p.maxDelaySeconds);
}
