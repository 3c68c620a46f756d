import type { RawValue } from '../definition';
import { raiseError } from '../errors';
import { typeName, type WfValue } from '../values';
import { expressionSource } from './cache';

/**
 * Evaluates a raw definition value (https://cloud.google.com/workflows/docs/reference/syntax/expressions):
 * a string that is one `${...}` is an expression, other strings are literal; lists and maps are
 * evaluated item by item, and a map key may be an expression too.
 */
export async function evaluateRaw(
  raw: RawValue | undefined,
  evalSource: (source: string) => Promise<WfValue>,
): Promise<WfValue> {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') {
    const source = expressionSource(raw);
    return source === undefined ? raw : evalSource(source);
  }
  if (Array.isArray(raw)) {
    const out: WfValue[] = [];
    for (const x of raw) out.push(await evaluateRaw(x, evalSource));
    return out;
  }
  if (typeof raw === 'object') {
    const out = new Map<string, WfValue>();
    for (const [k, x] of Object.entries(raw)) {
      const key = expressionSource(k) === undefined ? k : await evaluateRaw(k, evalSource);
      if (typeof key !== 'string') raiseError('TypeError', `map keys must be strings, got ${typeName(key)}`);
      out.set(key, await evaluateRaw(x, evalSource));
    }
    return out;
  }
  return raw;
}
