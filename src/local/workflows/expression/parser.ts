import type { BinaryOp, Expr } from './ast';
import { ExpressionSyntaxError, tokenize, type Token } from './tokenizer';

/**
 * Recursive-descent parser. Precedence, from the "Order of operations" table in
 * https://cloud.google.com/workflows/docs/reference/syntax/datatypes (loosest first):
 * or; and; comparison/equality/`in`; + -; * / // %; unary minus; not; then `.`, `[]`, `()`.
 * Logical operators are lower-case or upper-case, not mixed (same page).
 */
export function parseExpression(source: string): Expr {
  const p = new Parser(source);
  const expr = p.parseOr();
  p.expectEnd();
  return expr;
}

const KEYWORDS: Record<string, string> = {
  and: 'and',
  AND: 'and',
  or: 'or',
  OR: 'or',
  not: 'not',
  NOT: 'not',
  in: 'in',
};
const BOOLEANS: Record<string, boolean> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
};

class Parser {
  private tokens: Token[];
  private i = 0;
  constructor(private source: string) {
    this.tokens = tokenize(source);
  }

  private peek(): Token {
    return this.tokens[this.i];
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }
  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'name' && KEYWORDS[t.text] === word;
  }
  private fail(message: string, t = this.peek()): never {
    throw new ExpressionSyntaxError(message, this.source, t.pos);
  }
  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(`expected '${text}' but found '${this.peek().text || 'end'}'`);
    this.i++;
  }
  expectEnd(): void {
    if (this.peek().kind !== 'eof') this.fail(`unexpected '${this.peek().text}'`);
  }

  parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.i++;
      left = { type: 'binary', op: 'or', left, right: this.parseAnd() };
    }
    return left;
  }
  private parseAnd(): Expr {
    let left = this.parseComparison();
    while (this.isKeyword('and')) {
      this.i++;
      left = { type: 'binary', op: 'and', left, right: this.parseComparison() };
    }
    return left;
  }
  private parseComparison(): Expr {
    let left = this.parseAdditive();
    for (;;) {
      const t = this.peek();
      let op: BinaryOp | undefined;
      if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) op = t.text as BinaryOp;
      else if (this.isKeyword('in')) op = 'in';
      if (!op) return left;
      this.i++;
      left = { type: 'binary', op, left, right: this.parseAdditive() };
    }
  }
  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.tokens[this.i++].text as BinaryOp;
      left = { type: 'binary', op, left, right: this.parseMultiplicative() };
    }
    return left;
  }
  private parseMultiplicative(): Expr {
    let left = this.parseUnaryMinus();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = this.tokens[this.i++].text as BinaryOp;
      left = { type: 'binary', op, left, right: this.parseUnaryMinus() };
    }
    return left;
  }
  private parseUnaryMinus(): Expr {
    if (this.isOp('-')) {
      this.i++;
      return { type: 'unary', op: '-', operand: this.parseUnaryMinus() };
    }
    return this.parseNot();
  }
  private parseNot(): Expr {
    if (this.isKeyword('not')) {
      this.i++;
      return { type: 'unary', op: 'not', operand: this.parseNot() };
    }
    return this.parsePostfix();
  }
  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    for (;;) {
      if (this.isOp('.')) {
        this.i++;
        const t = this.peek();
        if (t.kind !== 'name') this.fail('expected a property name after .');
        this.i++;
        e = { type: 'member', object: e, property: t.text };
      } else if (this.isOp('[')) {
        this.i++;
        const index = this.parseOr();
        this.expectOp(']');
        e = { type: 'index', object: e, index };
      } else if (this.isOp('(')) {
        this.i++;
        const args: Expr[] = [];
        if (!this.isOp(')')) {
          args.push(this.parseOr());
          while (this.isOp(',')) {
            this.i++;
            args.push(this.parseOr());
          }
        }
        this.expectOp(')');
        e = { type: 'call', callee: e, args };
      } else return e;
    }
  }
  private parsePrimary(): Expr {
    const t = this.peek();
    if (t.kind === 'int' || t.kind === 'double' || t.kind === 'string') {
      this.i++;
      return { type: 'literal', value: t.value as bigint | number | string };
    }
    if (t.kind === 'name') {
      if (t.text in KEYWORDS) this.fail(`unexpected keyword '${t.text}'`);
      this.i++;
      if (t.text in BOOLEANS) return { type: 'literal', value: BOOLEANS[t.text] };
      if (t.text === 'null') return { type: 'literal', value: null };
      return { type: 'name', name: t.text };
    }
    if (this.isOp('(')) {
      this.i++;
      const e = this.parseOr();
      this.expectOp(')');
      return e;
    }
    if (this.isOp('[')) {
      this.i++;
      const items: Expr[] = [];
      if (!this.isOp(']')) {
        items.push(this.parseOr());
        while (this.isOp(',')) {
          this.i++;
          items.push(this.parseOr());
        }
      }
      this.expectOp(']');
      return { type: 'list', items };
    }
    if (this.isOp('{')) {
      this.i++;
      const entries: { key: Expr; value: Expr }[] = [];
      if (!this.isOp('}')) {
        for (;;) {
          const key = this.parseOr();
          this.expectOp(':');
          entries.push({ key, value: this.parseOr() });
          if (!this.isOp(',')) break;
          this.i++;
        }
      }
      this.expectOp('}');
      return { type: 'map', entries };
    }
    if (t.kind === 'eof') this.fail('unexpected end of expression');
    this.fail(`unexpected '${t.text}'`);
  }
}
