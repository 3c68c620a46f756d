import type { ForDef } from '../definition';
import { raiseError } from '../errors';
import { Scope } from '../scope';
import { cloneValue, isNumber, typeName, type WfValue } from '../values';
import { NORMAL, type Completion, type Frame, type Runner } from '../runtime';

/**
 * `for` over a list (`in`) or an inclusive numeric `range: [start, end]`
 * (https://cloud.google.com/workflows/docs/reference/syntax/iteration). Each iteration runs in
 * its own child scope holding the loop variable and `index`, so neither they nor variables first
 * created in the body exist after the loop. Maps are iterated with `in: ${keys(m)}`.
 */
export async function loopItems(def: ForDef, runner: Runner, scope: Scope, frame: Frame): Promise<WfValue[]> {
  if (def.range !== undefined) {
    const range = await runner.evaluate(def.range, scope, frame);
    if (!Array.isArray(range) || range.length !== 2 || !range.every(isNumber))
      raiseError('TypeError', 'for: range must be a list of two numbers [start, end]');
    const [start, end] = range as (bigint | number)[];
    const items: WfValue[] = [];
    if (typeof start === 'bigint') for (let v = start; v <= Number(end); v++) items.push(v);
    else for (let v = start; v <= Number(end); v++) items.push(v);
    return items;
  }
  const list = await runner.evaluate(def.in, scope, frame);
  if (!Array.isArray(list))
    raiseError('TypeError', `for: 'in' must be a list (use keys(map) for a map), got ${typeName(list)}`);
  return list;
}

export function iterationScope(
  parent: Scope,
  def: ForDef,
  item: WfValue,
  index: number,
  shared?: Set<string>,
): Scope {
  const s = new Scope(parent, shared);
  s.declare(def.value, cloneValue(item));
  if (def.index) s.declare(def.index, BigInt(index));
  return s;
}

export async function executeFor(
  def: ForDef,
  runner: Runner,
  scope: Scope,
  frame: Frame,
): Promise<Completion> {
  const items = await loopItems(def, runner, scope, frame);
  for (let i = 0; i < items.length; i++) {
    const c = await runner.executeSteps(def.steps, iterationScope(scope, def, items[i], i), frame);
    if (c.kind === 'break') break;
    if (c.kind === 'normal' || c.kind === 'continue') continue;
    return c;
  }
  return NORMAL;
}
