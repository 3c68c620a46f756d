/**
 * Workflow values and their JavaScript representation.
 *
 * Cloud Workflows distinguishes integers (64-bit signed) from doubles
 * (https://cloud.google.com/workflows/docs/reference/syntax/datatypes), which JavaScript numbers
 * cannot: here an integer is a `bigint` and a double is a `number`. Maps are `Map`s (insertion
 * order kept), lists are arrays, bytes are `WfBytes`.
 */
export class WfBytes {
  constructor(readonly data: Uint8Array) {}
}

/** A reference to a function or policy named in an expression (`${http.default_retry}`). */
export class WfFunctionRef {
  constructor(readonly name: string) {}
}

export type WfMap = Map<string, WfValue>;
export type WfValue = null | boolean | bigint | number | string | WfBytes | WfFunctionRef | WfValue[] | WfMap;

export type WfTypeName =
  'null' | 'boolean' | 'integer' | 'double' | 'string' | 'bytes' | 'list' | 'map' | 'function';

export function typeName(v: WfValue): WfTypeName {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string') return 'string';
  if (v instanceof WfBytes) return 'bytes';
  if (v instanceof WfFunctionRef) return 'function';
  if (Array.isArray(v)) return 'list';
  return 'map';
}

export const isMap = (v: WfValue): v is WfMap => v instanceof Map;
export const isList = (v: WfValue): v is WfValue[] => Array.isArray(v);
export const isNumber = (v: WfValue): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';

/** Values are copied on assignment: Workflows has no aliasing between variables. */
export function cloneValue(v: WfValue): WfValue {
  if (Array.isArray(v)) return v.map(cloneValue);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, cloneValue(x)]));
  if (v instanceof WfBytes) return new WfBytes(new Uint8Array(v.data));
  return v;
}

export function valuesEqual(a: WfValue, b: WfValue): boolean {
  if (isNumber(a) && isNumber(b)) return Number(a) === Number(b) || a === b;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) if (!b.has(k) || !valuesEqual(x, b.get(k) as WfValue)) return false;
    return true;
  }
  if (a instanceof WfBytes && b instanceof WfBytes)
    return a.data.length === b.data.length && a.data.every((x, i) => x === b.data[i]);
  if (a instanceof WfFunctionRef && b instanceof WfFunctionRef) return a.name === b.name;
  return a === b;
}

/**
 * Converts plain JavaScript (JSON-like data from a caller, a callable or json.decode) to a workflow
 * value: whole numbers become integers, other numbers doubles.
 */
export function fromJs(v: unknown): WfValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (v instanceof WfBytes || v instanceof WfFunctionRef) return v;
  if (v instanceof Uint8Array) return new WfBytes(v);
  if (Array.isArray(v)) return v.map(fromJs);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [String(k), fromJs(x)]));
  if (typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, fromJs(x)]));
  return String(v);
}

/**
 * Converts a workflow value to plain JavaScript: integers become numbers (a `bigint` beyond 2^53,
 * so no digit is lost), maps objects, bytes Buffers.
 */
export function toJs(v: WfValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v instanceof WfBytes) return Buffer.from(v.data);
  if (v instanceof WfFunctionRef) return `<function ${v.name}>`;
  if (Array.isArray(v)) return v.map(toJs);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) out[k] = toJs(x);
    return out;
  }
  return v;
}
