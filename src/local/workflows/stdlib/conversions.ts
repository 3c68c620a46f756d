import { raiseError } from '../errors';
import { isMap, typeName, WfBytes, type WfValue } from '../values';
import { defineFunctions } from './registry';

/**
 * Conversion and inspection functions (https://cloud.google.com/workflows/docs/reference/stdlib/overview):
 * len, keys, default, string, int, double, bool, type.
 */
export function formatValue(v: WfValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number')
    return Number.isFinite(v) ? String(v) : raiseError('ValueError', `cannot format ${v}`);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  raiseError('TypeError', `cannot convert ${typeName(v)} to string`);
}

function toInt(v: WfValue | undefined): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) raiseError('ValueError', `cannot convert ${v} to integer`);
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'string') {
    if (!/^\s*[-+]?\d+\s*$/.test(v)) raiseError('ValueError', `invalid integer: '${v}'`);
    return BigInt(v.trim());
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  raiseError('TypeError', `cannot convert ${typeName(v ?? null)} to integer`);
}

function toDouble(v: WfValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (v.trim() === '' || Number.isNaN(n)) raiseError('ValueError', `invalid double: '${v}'`);
    return n;
  }
  raiseError('TypeError', `cannot convert ${typeName(v ?? null)} to double`);
}

function toBool(v: WfValue | undefined): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    if (/^true$/i.test(v)) return true;
    if (/^false$/i.test(v)) return false;
    raiseError('ValueError', `invalid boolean: '${v}'`);
  }
  if (typeof v === 'bigint') return v !== 0n;
  raiseError('TypeError', `cannot convert ${typeName(v ?? null)} to boolean`);
}

export const conversionFunctions = defineFunctions({
  len: [
    ['value'],
    1,
    ([v]) => {
      if (typeof v === 'string') return BigInt([...v].length);
      if (Array.isArray(v)) return BigInt(v.length);
      if (v instanceof Map) return BigInt(v.size);
      if (v instanceof WfBytes) return BigInt(v.data.length);
      raiseError('TypeError', `len() of ${typeName(v ?? null)}`);
    },
  ],
  keys: [
    ['map'],
    1,
    ([m]) => {
      if (!m || !isMap(m)) raiseError('TypeError', `keys() needs a map, got ${typeName(m ?? null)}`);
      return [...m.keys()];
    },
  ],
  // default(value, fallback): fallback when value is null.
  default: [['value', 'default'], 2, ([v, d]) => (v === null || v === undefined ? (d ?? null) : v)],
  string: [['value'], 1, ([v]) => formatValue(v ?? null)],
  int: [['value'], 1, ([v]) => toInt(v)],
  double: [['value'], 1, ([v]) => toDouble(v)],
  bool: [['value'], 1, ([v]) => toBool(v)],
  type: [['value'], 1, ([v]) => typeName(v ?? null)],
});
