/**
 * Tokenizer for the expression language inside `${...}`
 * (https://cloud.google.com/workflows/docs/reference/syntax/expressions).
 */
export type TokenKind = 'int' | 'double' | 'string' | 'name' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Decoded value for literals. */
  value?: string | bigint | number;
  pos: number;
}

export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly pos: number,
  ) {
    super(`${message} at column ${pos + 1} of '${source}'`);
    this.name = 'ExpressionSyntaxError';
  }
}

const OPERATORS = [
  '//',
  '==',
  '!=',
  '<=',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '.',
  ',',
  ':',
];
const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  "'": "'",
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
};

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c)) {
      while (/[0-9]/.test(source[i] ?? '')) i++;
      let isDouble = false;
      if (source[i] === '.' && /[0-9]/.test(source[i + 1] ?? '')) {
        isDouble = true;
        i++;
        while (/[0-9]/.test(source[i] ?? '')) i++;
      }
      if (/[eE]/.test(source[i] ?? '') && /[-+0-9]/.test(source[i + 1] ?? '')) {
        isDouble = true;
        i += 2;
        while (/[0-9]/.test(source[i] ?? '')) i++;
      }
      const text = source.slice(start, i);
      tokens.push(
        isDouble
          ? { kind: 'double', text, value: Number(text), pos: start }
          : { kind: 'int', text, value: BigInt(text), pos: start },
      );
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      let out = '';
      while (i < source.length && source[i] !== c) {
        if (source[i] === '\\') {
          const e = source[i + 1];
          if (e === 'u') {
            const hex = source.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ExpressionSyntaxError('bad \\u escape', source, i);
            out += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            continue;
          }
          if (!(e in ESCAPES)) throw new ExpressionSyntaxError(`unknown escape \\${e}`, source, i);
          out += ESCAPES[e];
          i += 2;
          continue;
        }
        out += source[i++];
      }
      if (source[i] !== c) throw new ExpressionSyntaxError('unterminated string', source, start);
      i++;
      tokens.push({ kind: 'string', text: source.slice(start, i), value: out, pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (/[A-Za-z0-9_]/.test(source[i] ?? '')) i++;
      tokens.push({ kind: 'name', text: source.slice(start, i), pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op) throw new ExpressionSyntaxError(`unexpected character '${c}'`, source, i);
    i += op.length;
    tokens.push({ kind: 'op', text: op, pos: start });
  }
  tokens.push({ kind: 'eof', text: '', pos: source.length });
  return tokens;
}
