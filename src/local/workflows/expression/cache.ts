import { assignmentPath, type Accessor } from '../steps/assign';
import type { Expr } from './ast';
import { parseExpression } from './parser';
import { ExpressionSyntaxError } from './tokenizer';

/** Parsed expressions and assignment targets, cached by source text. */
const expressions = new Map<string, Expr>();
const targets = new Map<string, { root: string; path: Accessor[] }>();

/** The source inside `${...}` when the whole string is one expression, else undefined. */
export function expressionSource(s: string): string | undefined {
  return s.startsWith('${') && s.endsWith('}') ? s.slice(2, -1) : undefined;
}

export function compileExpression(source: string): Expr {
  let e = expressions.get(source);
  if (!e) {
    e = parseExpression(source);
    expressions.set(source, e);
  }
  return e;
}

/** An assignment target: `name`, `a.b.c`, `a[0]`, `a["k"][i + 1]`. */
export function compileTarget(target: string): { root: string; path: Accessor[] } {
  let t = targets.get(target);
  if (!t) {
    const path = assignmentPath(parseExpression(target));
    if (!path)
      throw new ExpressionSyntaxError('not an assignable variable, map key or list element', target, 0);
    t = path;
    targets.set(target, t);
  }
  return t;
}
