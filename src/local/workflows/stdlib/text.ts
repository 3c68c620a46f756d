import { raiseError } from '../errors';
import { WfBytes, type WfValue } from '../values';
import { needBytes, needInt, needString } from './arguments';
import { defineFunctions } from './registry';

/**
 * text.* without regular expressions (https://cloud.google.com/workflows/docs/reference/stdlib/text/split,
 * .../text/url_encode, .../text/url_encode_plus, .../text/url_decode ...). Offsets are code points.
 */
function checkCharset(v: WfValue | undefined, fn: string): void {
  if (v !== undefined && v !== null && !/^utf-?8$/i.test(String(v)))
    raiseError('ValueError', `${fn}: only UTF-8 is supported locally, got '${String(v)}'`);
}

/** Percent-encodes the UTF-8 bytes of a string; letters, digits and `.-_` stay as they are. */
function percentEncode(source: string, spaceAsPlus: boolean): string {
  let out = '';
  for (const byte of Buffer.from(source, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9._-]/.test(c)) out += c;
    else if (spaceAsPlus && c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function percentDecode(source: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '%') {
      const hex = source.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        raiseError(
          'ValueError',
          `text.url_decode: '%' at offset ${i} is not followed by two hexadecimal digits`,
        );
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') bytes.push(0x20);
    else bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

export const textFunctions = defineFunctions({
  'text.encode': [
    ['text', 'charset'],
    1,
    ([t, cs]) => {
      checkCharset(cs, 'text.encode');
      return new WfBytes(Buffer.from(needString(t, 'text.encode', 'text'), 'utf8'));
    },
  ],
  'text.decode': [
    ['data', 'charset'],
    1,
    ([d, cs]) => {
      checkCharset(cs, 'text.decode');
      return Buffer.from(needBytes(d, 'text.decode', 'data')).toString('utf8');
    },
  ],
  'text.split': [
    ['source', 'separator'],
    2,
    ([s, sep]) => needString(s, 'text.split', 'source').split(needString(sep, 'text.split', 'separator')),
  ],
  'text.to_upper': [['source'], 1, ([s]) => needString(s, 'text.to_upper', 'source').toUpperCase()],
  'text.to_lower': [['source'], 1, ([s]) => needString(s, 'text.to_lower', 'source').toLowerCase()],
  'text.replace_all': [
    ['source', 'substr', 'repl'],
    3,
    ([s, sub, repl]) =>
      needString(s, 'text.replace_all', 'source')
        .split(needString(sub, 'text.replace_all', 'substr'))
        .join(needString(repl, 'text.replace_all', 'repl')),
  ],
  // text.substring(source, start, end): code-point offsets, end exclusive, clamped to the string.
  'text.substring': [
    ['source', 'start', 'end'],
    3,
    ([s, start, end]) => {
      const chars = [...needString(s, 'text.substring', 'source')];
      const a = Math.max(0, needInt(start, 'text.substring', 'start'));
      const b = Math.min(chars.length, needInt(end, 'text.substring', 'end'));
      return a >= b ? '' : chars.slice(a, b).join('');
    },
  ],
  // text.find_all(source, substr): list of {index, match} for each non-overlapping occurrence.
  'text.find_all': [
    ['source', 'substr'],
    2,
    ([s, sub]) => {
      const src = needString(s, 'text.find_all', 'source');
      const needle = needString(sub, 'text.find_all', 'substr');
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
  'text.url_encode': [
    ['source'],
    1,
    ([s]) => percentEncode(needString(s, 'text.url_encode', 'source'), false),
  ],
  'text.url_encode_plus': [
    ['source'],
    1,
    ([s]) => percentEncode(needString(s, 'text.url_encode_plus', 'source'), true),
  ],
  'text.url_decode': [['source'], 1, ([s]) => percentDecode(needString(s, 'text.url_decode', 'source'))],
});
