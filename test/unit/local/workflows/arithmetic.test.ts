import fc from 'fast-check';
import { binaryOp } from '../../../../src/local/workflows/expression/arithmetic';
import { parseExpression } from '../../../../src/local/workflows/expression/parser';

describe('expression arithmetic', () => {
  it('// and % satisfy a == (a // b) * b + a % b, with 0 <= |a % b| < |b| and the sign of b', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
        fc.bigInt({ min: -1000n, max: 1000n }),
        (a, b) => {
          fc.pre(b !== 0n);
          const q = binaryOp('//', a, b) as bigint;
          const r = binaryOp('%', a, b) as bigint;
          expect(q * b + r).toBe(a);
          expect(r === 0n || r < 0n === b < 0n).toBe(true);
          expect(r < 0n ? -r : r).toBeLessThan(b < 0n ? -b : b);
        },
      ),
    );
  });

  it('parses with the documented precedence', () => {
    expect(parseExpression('not a == b')).toMatchObject({
      type: 'binary',
      op: '==',
      left: { type: 'unary', op: 'not' },
    });
    expect(parseExpression('-2 * 3')).toMatchObject({
      type: 'binary',
      op: '*',
      left: { type: 'unary', op: '-' },
    });
    expect(parseExpression('a or b and c')).toMatchObject({ type: 'binary', op: 'or', right: { op: 'and' } });
  });
});
