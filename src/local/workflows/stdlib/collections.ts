import { raiseError } from '../errors';
import { cloneValue, isMap, typeName, type WfMap, type WfValue } from '../values';
import { defineFunctions } from './registry';

/** map.* and list.* (https://cloud.google.com/workflows/docs/reference/stdlib/map/get, .../list/concat). */
function needMap(v: WfValue | undefined, fn: string): WfMap {
  if (v === undefined || !isMap(v))
    raiseError('TypeError', `${fn}: expected a map, got ${typeName(v ?? null)}`);
  return v;
}
function needList(v: WfValue | undefined, fn: string): WfValue[] {
  if (!Array.isArray(v)) raiseError('TypeError', `${fn}: expected a list, got ${typeName(v ?? null)}`);
  return v;
}

export const collectionFunctions = defineFunctions({
  // map.get(map, key or list of keys): null when any key is missing, instead of a KeyError.
  'map.get': [
    ['map', 'keys'],
    2,
    ([m, k]) => {
      if (m === null) return null;
      let cur: WfValue = needMap(m, 'map.get');
      for (const key of Array.isArray(k) ? k : [k ?? null]) {
        if (typeof key !== 'string')
          raiseError('TypeError', `map.get: keys are strings, got ${typeName(key)}`);
        if (!isMap(cur) || !cur.has(key)) return null;
        cur = cur.get(key) as WfValue;
      }
      return cur;
    },
  ],
  'map.delete': [
    ['map', 'key'],
    2,
    ([m, k]) => {
      const copy = cloneValue(needMap(m, 'map.delete')) as WfMap;
      if (typeof k !== 'string') raiseError('TypeError', 'map.delete: key must be a string');
      copy.delete(k);
      return copy;
    },
  ],
  'map.merge': [
    ['first', 'second'],
    2,
    ([a, b]) =>
      new Map([
        ...(cloneValue(needMap(a, 'map.merge')) as WfMap),
        ...(cloneValue(needMap(b, 'map.merge')) as WfMap),
      ]),
  ],
  'list.concat': [
    ['objs', 'val'],
    2,
    ([l, v]) => [...(cloneValue(needList(l, 'list.concat')) as WfValue[]), cloneValue(v ?? null)],
  ],
  'list.prepend': [
    ['objs', 'val'],
    2,
    ([l, v]) => [cloneValue(v ?? null), ...(cloneValue(needList(l, 'list.prepend')) as WfValue[])],
  ],
});
