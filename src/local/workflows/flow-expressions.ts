import { CST, Lexer } from 'yaml';

/**
 * Google's docs write expressions inside YAML flow collections, `range: [${a}, ${b}]` and
 * `args: [${myVar}, "ERROR"]` (stdlib/sys/log), and Google's tooling deploys them. Strict YAML reads
 * `${a}` there as a `$` followed by a flow map `{a}`, so before parsing, each `${...}` that starts a
 * plain scalar inside a flow collection is rewritten to a double-quoted string holding the same
 * text. Line numbers do not change (the expression stays on its lines).
 */
const MARKERS = new Set(['\x02', '\x18', '\x1f']);

/** The offset of the first `${` the lexer splits inside a flow collection, or -1. */
function firstSplitExpression(source: string): number {
  let offset = 0;
  let depth = 0;
  let pendingDollar = -1;
  for (const token of new Lexer().lex(source)) {
    if (MARKERS.has(token)) continue;
    const type = CST.tokenType(token);
    if (type === 'flow-map-start' && pendingDollar >= 0) return pendingDollar;
    pendingDollar = -1;
    if (type === 'flow-seq-start' || type === 'flow-map-start') depth++;
    else if (type === 'flow-seq-end' || type === 'flow-map-end') depth = Math.max(0, depth - 1);
    else if (type === null && depth > 0 && token === '$') pendingDollar = offset;
    offset += token.length;
  }
  return -1;
}

/** The offset just past the `}` closing the expression that starts at `start` (`${`), or -1. */
function expressionEnd(source: string, start: number): number {
  let depth = 0;
  for (let i = start + 1; i < source.length; i++) {
    const c = source[i];
    if (c === '"' || c === "'") {
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === '\\') i++;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

export function quoteFlowExpressions(source: string): string {
  let out = source;
  for (let guard = 0; guard < 10_000; guard++) {
    const start = firstSplitExpression(out);
    if (start < 0) return out;
    const end = expressionEnd(out, start);
    if (end < 0) return out; // unbalanced: let the YAML parser report it
    const text = out.slice(start, end).replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    out = `${out.slice(0, start)}"${text}"${out.slice(end)}`;
  }
  return out;
}
