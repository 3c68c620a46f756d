import { raiseError } from '../errors';
import { isMap, typeName, WfBytes, type WfMap, type WfValue } from '../values';

/** Argument checks shared by the standard-library modules: the documented TypeError on a wrong type. */
export function needString(v: WfValue | undefined, fn: string, what = 'argument'): string {
  if (typeof v !== 'string')
    raiseError('TypeError', `${fn}: ${what} must be a string, got ${typeName(v ?? null)}`);
  return v;
}

export function needBytes(v: WfValue | undefined, fn: string, what = 'argument'): Uint8Array {
  if (!(v instanceof WfBytes))
    raiseError('TypeError', `${fn}: ${what} must be bytes, got ${typeName(v ?? null)}`);
  return v.data;
}

export function needInt(v: WfValue | undefined, fn: string, what = 'argument'): number {
  if (typeof v !== 'bigint')
    raiseError('TypeError', `${fn}: ${what} must be an integer, got ${typeName(v ?? null)}`);
  return Number(v);
}

export function needMap(v: WfValue | undefined, fn: string, what = 'argument'): WfMap {
  if (v === undefined || !isMap(v))
    raiseError('TypeError', `${fn}: ${what} must be a map, got ${typeName(v ?? null)}`);
  return v;
}

export function needList(v: WfValue | undefined, fn: string, what = 'argument'): WfValue[] {
  if (!Array.isArray(v)) raiseError('TypeError', `${fn}: ${what} must be a list, got ${typeName(v ?? null)}`);
  return v;
}
