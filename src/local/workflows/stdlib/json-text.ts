import { parse } from 'lossless-json';
import { raiseError } from '../errors';
import { fromJs, isMap, typeName, WfBytes, type WfValue } from '../values';

/**
 * JSON text to and from workflow values (https://cloud.google.com/workflows/docs/reference/stdlib/json/decode,
 * .../json/encode). Integers stay integers, whatever their size within 64 bits: JSON.parse on Node 20
 * rounds 12345678901234567890 to a double, so the text is read with lossless-json.
 */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseNumber(text: string): bigint | number {
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
  }
  return Number(text);
}

export function parseJsonText(text: string): WfValue {
  let parsed: unknown;
  try {
    parsed = parse(text, null, parseNumber);
  } catch (e) {
    raiseError('ValueError', `invalid JSON: ${(e as Error).message}`);
  }
  return fromJs(parsed);
}

/** Indentation as json.encode documents it: true = four spaces; a map may set `prefix` and `indent`. */
export interface JsonIndent {
  prefix: string;
  unit: string;
}

export function jsonIndent(v: WfValue | undefined, fn: string): JsonIndent | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (v === true) return { prefix: '', unit: '    ' };
  if (!isMap(v)) raiseError('TypeError', `${fn}: indent must be a boolean or a map, got ${typeName(v)}`);
  const field = (name: string, dflt: string): string => {
    const x = v.get(name);
    if (x === undefined || x === null) return dflt;
    if (typeof x !== 'string')
      raiseError('TypeError', `${fn}: indent.${name} must be a string, got ${typeName(x)}`);
    return x;
  };
  for (const k of v.keys())
    if (k !== 'prefix' && k !== 'indent') raiseError('ValueError', `${fn}: unknown indent option '${k}'`);
  return { prefix: field('prefix', ''), unit: field('indent', '    ') };
}

/**
 * Encodes a value as JSON. With indentation every element starts a new line holding the prefix
 * and one indent per nesting level; the first line carries neither (the layout of Go's
 * json.MarshalIndent, which the documented wording describes).
 */
export function toJsonText(v: WfValue, fn: string, indent?: JsonIndent): string {
  const newline = (depth: number): string => (indent ? `\n${indent.prefix}${indent.unit.repeat(depth)}` : '');
  const write = (x: WfValue, depth: number): string => {
    if (x === null || typeof x === 'boolean' || typeof x === 'string') return JSON.stringify(x);
    if (typeof x === 'bigint') return x.toString();
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) raiseError('ValueError', `${fn}: cannot JSON-encode ${x}`);
      return JSON.stringify(x);
    }
    if (x instanceof WfBytes)
      raiseError('ValueError', `${fn}: bytes cannot be JSON-encoded; encode them with base64.encode first`);
    let items: string[];
    if (Array.isArray(x)) items = x.map((y) => newline(depth + 1) + write(y, depth + 1));
    else if (isMap(x))
      items = [...x].map(
        ([k, y]) => `${newline(depth + 1)}${JSON.stringify(k)}:${indent ? ' ' : ''}${write(y, depth + 1)}`,
      );
    else raiseError('ValueError', `${fn}: a ${typeName(x)} cannot be JSON-encoded`);
    const [open, close] = Array.isArray(x) ? ['[', ']'] : ['{', '}'];
    return items.length ? `${open}${items.join(',')}${newline(depth)}${close}` : `${open}${close}`;
  };
  return write(v, 0);
}
