import { raiseError } from '../errors';
import { fromJs, isMap, typeName, WfBytes, type WfValue } from '../values';
import { defineFunctions } from './registry';

/**
 * json.*, base64.* and text.* (https://cloud.google.com/workflows/docs/reference/stdlib/json/encode,
 * .../base64/encode, .../text/split ...). json.encode returns bytes; json.encode_to_string a string.
 */
function toJsonText(v: WfValue, indent?: WfValue): string {
  const width = indentWidth(indent) ?? 0;
  const pad = (depth: number): string => (width ? `\n${' '.repeat(width * depth)}` : '');
  const write = (x: WfValue, depth: number): string => {
    if (x === null || typeof x === 'boolean' || typeof x === 'string') return JSON.stringify(x);
    if (typeof x === 'bigint') return x.toString();
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) raiseError('ValueError', `cannot JSON-encode ${x}`);
      return JSON.stringify(x);
    }
    if (x instanceof WfBytes) raiseError('TypeError', 'bytes cannot be JSON-encoded; use base64.encode');
    const sep = width ? ': ' : ':';
    const items = Array.isArray(x)
      ? x.map((y) => pad(depth + 1) + write(y, depth + 1))
      : isMap(x)
        ? [...x].map(([k, y]) => pad(depth + 1) + JSON.stringify(k) + sep + write(y, depth + 1))
        : raiseError('TypeError', `cannot JSON-encode ${typeName(x)}`);
    const [open, close] = Array.isArray(x) ? ['[', ']'] : ['{', '}'];
    return items.length ? `${open}${items.join(',')}${pad(depth)}${close}` : `${open}${close}`;
  };
  return write(v, 0);
}

function indentWidth(indent: WfValue | undefined): number | undefined {
  if (indent === undefined || indent === null) return undefined;
  if (typeof indent === 'bigint') return Number(indent);
  if (isMap(indent)) {
    const prefix = indent.get('prefix');
    const width = indent.get('indent');
    void prefix;
    return typeof width === 'bigint' ? Number(width) : typeof width === 'string' ? width.length : undefined;
  }
  return undefined;
}

/** JSON text to a workflow value, keeping integers (whole numbers without a fraction) as integers. */
export function parseJsonText(text: string): WfValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (_key, value, context?: { source?: string }) => {
      if (typeof value === 'number' && context?.source !== undefined && /^-?\d+$/.test(context.source))
        return BigInt(context.source);
      return value;
    });
  } catch (e) {
    raiseError('ValueError', `invalid JSON: ${(e as Error).message}`);
  }
  return fromJs(parsed);
}

function needString(v: WfValue | undefined, fn: string): string {
  if (typeof v !== 'string') raiseError('TypeError', `${fn}: expected a string, got ${typeName(v ?? null)}`);
  return v;
}
function needBytes(v: WfValue | undefined, fn: string): Uint8Array {
  if (!(v instanceof WfBytes)) raiseError('TypeError', `${fn}: expected bytes, got ${typeName(v ?? null)}`);
  return v.data;
}
function needInt(v: WfValue | undefined, fn: string): number {
  if (typeof v !== 'bigint')
    raiseError('TypeError', `${fn}: expected an integer, got ${typeName(v ?? null)}`);
  return Number(v);
}
function checkCharset(v: WfValue | undefined, fn: string): void {
  if (v !== undefined && v !== null && !/^utf-?8$/i.test(String(v)))
    raiseError('ValueError', `${fn}: only UTF-8 is supported locally, got '${String(v)}'`);
}

export const encodingFunctions = defineFunctions({
  'json.encode': [
    ['data', 'indent'],
    1,
    ([v, indent]) => new WfBytes(Buffer.from(toJsonText(v ?? null, indent), 'utf8')),
  ],
  'json.encode_to_string': [['data', 'indent'], 1, ([v, indent]) => toJsonText(v ?? null, indent)],
  'json.decode': [
    ['data'],
    1,
    ([d]) =>
      parseJsonText(
        d instanceof WfBytes ? Buffer.from(d.data).toString('utf8') : needString(d, 'json.decode'),
      ),
  ],
  'base64.encode': [
    ['data', 'padding'],
    1,
    ([d, padding]) => {
      const s = Buffer.from(needBytes(d, 'base64.encode')).toString('base64');
      return padding === false ? s.replace(/=+$/, '') : s;
    },
  ],
  'base64.decode': [
    ['data', 'padding'],
    1,
    ([d]) => {
      const s = needString(d, 'base64.decode');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) raiseError('ValueError', 'base64.decode: not base64 text');
      return new WfBytes(Buffer.from(s, 'base64'));
    },
  ],
  'text.encode': [
    ['text', 'charset'],
    1,
    ([t, cs]) => {
      checkCharset(cs, 'text.encode');
      return new WfBytes(Buffer.from(needString(t, 'text.encode'), 'utf8'));
    },
  ],
  'text.decode': [
    ['data', 'charset'],
    1,
    ([d, cs]) => {
      checkCharset(cs, 'text.decode');
      return Buffer.from(needBytes(d, 'text.decode')).toString('utf8');
    },
  ],
  'text.split': [
    ['source', 'separator'],
    2,
    ([s, sep]) => needString(s, 'text.split').split(needString(sep, 'text.split')),
  ],
  'text.to_upper': [['source'], 1, ([s]) => needString(s, 'text.to_upper').toUpperCase()],
  'text.to_lower': [['source'], 1, ([s]) => needString(s, 'text.to_lower').toLowerCase()],
  'text.replace_all': [
    ['source', 'substr', 'repl'],
    3,
    ([s, sub, repl]) =>
      needString(s, 'text.replace_all')
        .split(needString(sub, 'text.replace_all'))
        .join(needString(repl, 'text.replace_all')),
  ],
  // text.substring(source, start, end): code-point offsets, end exclusive, clamped to the string.
  'text.substring': [
    ['source', 'start', 'end'],
    3,
    ([s, start, end]) => {
      const chars = [...needString(s, 'text.substring')];
      const a = Math.max(0, needInt(start, 'text.substring'));
      const b = Math.min(chars.length, needInt(end, 'text.substring'));
      return a >= b ? '' : chars.slice(a, b).join('');
    },
  ],
  // text.find_all(source, substr): list of {index, match} for each non-overlapping occurrence.
  'text.find_all': [
    ['source', 'substr'],
    2,
    ([s, sub]) => {
      const src = needString(s, 'text.find_all');
      const needle = needString(sub, 'text.find_all');
      const out: WfValue[] = [];
      if (needle === '') return out;
      for (let i = src.indexOf(needle); i >= 0; i = src.indexOf(needle, i + needle.length))
        out.push(
          new Map<string, WfValue>([
            ['index', BigInt([...src.slice(0, i)].length)],
            ['match', needle],
          ]),
        );
      return out;
    },
  ],
});
