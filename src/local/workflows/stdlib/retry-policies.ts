import { errorTags } from '../errors';
import { isMap, WfFunctionRef, type WfMap, type WfValue } from '../values';
import { defineFunctions } from './registry';

/**
 * Predefined retry predicates and policies:
 * - http.default_retry_predicate: 429, 502, 503, 504, ConnectionError, ConnectionFailedError,
 *   TimeoutError (https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_predicate)
 * - http.default_retry_predicate_non_idempotent: 429, 503, ConnectionFailedError
 *   (.../http/default_retry_non_idempotent)
 * - http.default_retry / http.default_retry_non_idempotent: that predicate, max_retries 5 and
 *   retry.default_backoff: initial 1 s, max 60 s, multiplier 1.25 (.../retry/default_backoff).
 */
function httpCode(e: WfValue): number | undefined {
  if (!isMap(e)) return undefined;
  const code = e.get('code');
  return typeof code === 'bigint' || typeof code === 'number' ? Number(code) : undefined;
}

export function isRetriableIdempotent(e: WfValue): boolean {
  const tags = errorTags(e);
  if (tags.some((t) => t === 'ConnectionError' || t === 'ConnectionFailedError' || t === 'TimeoutError'))
    return true;
  return tags.includes('HttpError') && [429, 502, 503, 504].includes(httpCode(e) ?? 0);
}

export function isRetriableNonIdempotent(e: WfValue): boolean {
  const tags = errorTags(e);
  if (tags.includes('ConnectionFailedError')) return true;
  return tags.includes('HttpError') && [429, 503].includes(httpCode(e) ?? 0);
}

export const retryFunctions = defineFunctions({
  'http.default_retry_predicate': [['exception'], 1, ([e]) => isRetriableIdempotent(e ?? null)],
  'http.default_retry_predicate_non_idempotent': [
    ['exception'],
    1,
    ([e]) => isRetriableNonIdempotent(e ?? null),
  ],
  'retry.always': [['exception'], 1, () => true],
  'retry.never': [['exception'], 1, () => false],
});

export const DEFAULT_BACKOFF = { initialDelaySeconds: 1, maxDelaySeconds: 60, multiplier: 1.25 };

function backoffValue(): WfMap {
  return new Map<string, WfValue>([
    ['initial_delay', BigInt(DEFAULT_BACKOFF.initialDelaySeconds)],
    ['max_delay', BigInt(DEFAULT_BACKOFF.maxDelaySeconds)],
    ['multiplier', DEFAULT_BACKOFF.multiplier],
  ]);
}

function policy(predicate: string): WfMap {
  return new Map<string, WfValue>([
    ['predicate', new WfFunctionRef(predicate)],
    ['max_retries', 5n],
    ['backoff', backoffValue()],
  ]);
}

/** Named values (not functions) of the standard library. */
export function retryConstants(): Record<string, () => WfValue> {
  return {
    'http.default_retry': () => policy('http.default_retry_predicate'),
    'http.default_retry_non_idempotent': () => policy('http.default_retry_predicate_non_idempotent'),
    'retry.default_backoff': backoffValue,
  };
}
