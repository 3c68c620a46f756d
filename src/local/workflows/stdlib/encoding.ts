import { raiseError } from '../errors';
import { WfBytes } from '../values';
import { needBytes, needString } from './arguments';
import { jsonIndent, parseJsonText, toJsonText } from './json-text';
import { defineFunctions } from './registry';

/**
 * json.* and base64.* (https://cloud.google.com/workflows/docs/reference/stdlib/json/encode,
 * .../json/encode_to_string, .../json/decode, .../base64/encode, .../base64/decode).
 * json.encode returns bytes; json.encode_to_string a string.
 */
export const encodingFunctions = defineFunctions({
  'json.encode': [
    ['data', 'indent'],
    1,
    ([v, indent]) =>
      new WfBytes(
        Buffer.from(toJsonText(v ?? null, 'json.encode', jsonIndent(indent, 'json.encode')), 'utf8'),
      ),
  ],
  'json.encode_to_string': [
    ['data', 'indent'],
    1,
    ([v, indent]) =>
      toJsonText(v ?? null, 'json.encode_to_string', jsonIndent(indent, 'json.encode_to_string')),
  ],
  'json.decode': [
    ['data'],
    1,
    ([d]) =>
      parseJsonText(
        d instanceof WfBytes ? Buffer.from(d.data).toString('utf8') : needString(d, 'json.decode', 'data'),
      ),
  ],
  'base64.encode': [
    ['data', 'padding'],
    1,
    ([d, padding]) => {
      const s = Buffer.from(needBytes(d, 'base64.encode', 'data')).toString('base64');
      return padding === false ? s.replace(/=+$/, '') : s;
    },
  ],
  'base64.decode': [
    ['data', 'padding'],
    1,
    ([d]) => {
      const s = needString(d, 'base64.decode', 'data');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) raiseError('ValueError', 'base64.decode: not base64 text');
      return new WfBytes(Buffer.from(s, 'base64'));
    },
  ],
});
