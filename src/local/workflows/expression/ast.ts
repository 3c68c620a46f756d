/** Expression syntax tree. */
export type Expr =
  | { type: 'literal'; value: null | boolean | bigint | number | string }
  | { type: 'name'; name: string }
  | { type: 'member'; object: Expr; property: string }
  | { type: 'index'; object: Expr; index: Expr }
  | { type: 'call'; callee: Expr; args: Expr[] }
  | { type: 'unary'; op: '-' | 'not'; operand: Expr }
  | { type: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { type: 'list'; items: Expr[] }
  | { type: 'map'; entries: { key: Expr; value: Expr }[] };

export type BinaryOp =
  '+' | '-' | '*' | '/' | '//' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'and' | 'or';

/** `a.b.c` as a dotted name, or undefined when the expression is not a plain dotted chain. */
export function dottedName(e: Expr): string | undefined {
  if (e.type === 'name') return e.name;
  if (e.type === 'member') {
    const base = dottedName(e.object);
    return base === undefined ? undefined : `${base}.${e.property}`;
  }
  return undefined;
}

/** The variable an expression starts from (`a` in `a.b[0].c`). */
export function rootName(e: Expr): string | undefined {
  if (e.type === 'name') return e.name;
  if (e.type === 'member' || e.type === 'index') return rootName(e.object);
  return undefined;
}
