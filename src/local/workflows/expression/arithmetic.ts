import { raiseError } from '../errors';
import { formatValue } from '../stdlib/conversions';
import { isNumber, typeName, valuesEqual, type WfValue } from '../values';

/**
 * Operators and their implicit conversions, as tabulated in "Implicit data type conversions" on
 * https://cloud.google.com/workflows/docs/reference/syntax/datatypes: integer op integer stays an
 * integer, a double on either side makes a double, `+` with a string on either side concatenates.
 */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkInt(v: bigint, op: string): bigint {
  if (v < INT64_MIN || v > INT64_MAX) raiseError('ValueError', `integer overflow in '${op}'`);
  return v;
}

function numeric(op: string, a: WfValue, b: WfValue): [bigint, bigint] | [number, number] {
  if (!isNumber(a) || !isNumber(b))
    raiseError('TypeError', `unsupported operand types for ${op}: ${typeName(a)} and ${typeName(b)}`);
  if (typeof a === 'bigint' && typeof b === 'bigint') return [a, b];
  return [Number(a), Number(b)];
}

function floorDivInt(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

export function binaryOp(op: string, a: WfValue, b: WfValue): WfValue {
  switch (op) {
    case '+': {
      if (typeof a === 'string' || typeof b === 'string') {
        const other = typeof a === 'string' ? b : a;
        if (other === null || typeof other === 'object')
          raiseError('TypeError', `unsupported operand types for +: ${typeName(a)} and ${typeName(b)}`);
        return formatValue(a) + formatValue(b);
      }
      const [x, y] = numeric(op, a, b);
      return typeof x === 'bigint' ? checkInt(x + (y as bigint), op) : x + (y as number);
    }
    case '-': {
      const [x, y] = numeric(op, a, b);
      return typeof x === 'bigint' ? checkInt(x - (y as bigint), op) : x - (y as number);
    }
    case '*': {
      const [x, y] = numeric(op, a, b);
      return typeof x === 'bigint' ? checkInt(x * (y as bigint), op) : x * (y as number);
    }
    case '/': {
      // `/` always yields a double; `//` is the integer (floor) division.
      const [x, y] = numeric(op, a, b);
      if (Number(y) === 0) raiseError('ZeroDivisionError', 'division by zero');
      return Number(x) / Number(y);
    }
    case '//': {
      const [x, y] = numeric(op, a, b);
      if (Number(y) === 0) raiseError('ZeroDivisionError', 'integer division by zero');
      return typeof x === 'bigint' ? floorDivInt(x, y as bigint) : Math.floor(x / (y as number));
    }
    case '%': {
      // Remainder with the sign of the divisor, so that a == (a // b) * b + a % b.
      const [x, y] = numeric(op, a, b);
      if (Number(y) === 0) raiseError('ZeroDivisionError', 'modulo by zero');
      if (typeof x === 'bigint') return x - floorDivInt(x, y as bigint) * (y as bigint);
      const yy = y as number;
      return x - Math.floor(x / yy) * yy;
    }
    case '==':
      return valuesEqual(a, b);
    case '!=':
      return !valuesEqual(a, b);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(op, a, b);
    case 'in':
      return membership(a, b);
    default:
      raiseError('SystemError', `unknown operator ${op}`);
  }
}

function compare(op: string, a: WfValue, b: WfValue): boolean {
  let c: number;
  if (isNumber(a) && isNumber(b))
    c = typeof a === 'bigint' && typeof b === 'bigint' ? (a < b ? -1 : a > b ? 1 : 0) : Number(a) - Number(b);
  else if (typeof a === 'string' && typeof b === 'string') c = a < b ? -1 : a > b ? 1 : 0;
  else raiseError('TypeError', `cannot compare ${typeName(a)} and ${typeName(b)} with ${op}`);
  if (op === '<') return c < 0;
  if (op === '<=') return c <= 0;
  if (op === '>') return c > 0;
  return c >= 0;
}

/** `x in list` tests membership, `key in map` tests for a key (datatypes page, "in"). */
function membership(needle: WfValue, haystack: WfValue): boolean {
  if (Array.isArray(haystack)) return haystack.some((x) => valuesEqual(x, needle));
  if (haystack instanceof Map) {
    if (typeof needle !== 'string') raiseError('TypeError', `map keys are strings, got ${typeName(needle)}`);
    return haystack.has(needle);
  }
  raiseError('TypeError', `'in' needs a list or a map on the right, got ${typeName(haystack)}`);
}

export function unaryMinus(v: WfValue): WfValue {
  if (typeof v === 'bigint') return checkInt(-v, '-');
  if (typeof v === 'number') return -v;
  raiseError('TypeError', `bad operand type for unary -: ${typeName(v)}`);
}
