import { raiseError } from '../errors';
import { cloneValue, isMap, typeName, type WfMap, type WfValue } from '../values';
import { needList, needMap } from './arguments';
import { defineFunctions } from './registry';

/**
 * map.* and list.* (https://cloud.google.com/workflows/docs/reference/stdlib/map/get, .../map/merge,
 * .../map/merge_nested, .../list/concat, .../list/prepend).
 */
function mergeNested(first: WfMap, second: WfMap): WfMap {
  const out = cloneValue(first) as WfMap;
  for (const [k, v] of second) {
    const mine = out.get(k);
    out.set(k, mine !== undefined && isMap(mine) && isMap(v) ? mergeNested(mine, v) : cloneValue(v));
  }
  return out;
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
  // Nested maps are merged key by key; any other value from the second map replaces the first's.
  'map.merge_nested': [
    ['first', 'second'],
    2,
    ([a, b]) =>
      mergeNested(needMap(a, 'map.merge_nested', 'first'), needMap(b, 'map.merge_nested', 'second')),
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
