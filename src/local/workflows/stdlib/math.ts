import { raiseError } from '../errors';
import { isNumber, typeName, type WfValue } from '../values';
import { defineFunctions } from './registry';

/** math.* (https://cloud.google.com/workflows/docs/reference/stdlib/math/abs ...). */
function num(v: WfValue | undefined, fn: string): bigint | number {
  if (v === undefined || !isNumber(v))
    raiseError('TypeError', `${fn}: expected a number, got ${typeName(v ?? null)}`);
  return v;
}

export const mathFunctions = defineFunctions({
  'math.abs': [
    ['x'],
    1,
    ([x]) => {
      const v = num(x, 'math.abs');
      return typeof v === 'bigint' ? (v < 0n ? -v : v) : Math.abs(v);
    },
  ],
  'math.floor': [
    ['x'],
    1,
    ([x]) => {
      const v = num(x, 'math.floor');
      return typeof v === 'bigint' ? v : BigInt(Math.floor(v));
    },
  ],
  'math.max': [
    ['x', 'y'],
    2,
    ([x, y]) => {
      const a = num(x, 'math.max');
      const b = num(y, 'math.max');
      if (typeof a === 'bigint' && typeof b === 'bigint') return a > b ? a : b;
      return Math.max(Number(a), Number(b));
    },
  ],
  'math.min': [
    ['x', 'y'],
    2,
    ([x, y]) => {
      const a = num(x, 'math.min');
      const b = num(y, 'math.min');
      if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? a : b;
      return Math.min(Number(a), Number(b));
    },
  ],
  'math.sqrt': [
    ['x'],
    1,
    ([x]) => {
      const v = Number(num(x, 'math.sqrt'));
      if (v < 0) raiseError('ValueError', 'math.sqrt of a negative number');
      return Math.sqrt(v);
    },
  ],
});
