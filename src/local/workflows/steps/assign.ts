import type { Expr } from '../expression/ast';
import { raiseError } from '../errors';
import type { Scope } from '../scope';
import { isMap, typeName, type WfValue } from '../values';

/**
 * Assignment to a variable, a map key (`a.b.c`, `a["k"]`) or a list element (`a[0]`)
 * (https://cloud.google.com/workflows/docs/reference/syntax/variables, .../maps, .../lists).
 * Missing intermediate map keys are created as empty maps; the root variable must exist; a list
 * index must be within the list.
 */
export type Accessor = { kind: 'key'; key: string } | { kind: 'index'; expr: Expr };

export function assignmentPath(target: Expr): { root: string; path: Accessor[] } | undefined {
  if (target.type === 'name') return { root: target.name, path: [] };
  if (target.type === 'member' || target.type === 'index') {
    const inner = assignmentPath(target.object);
    if (!inner) return undefined;
    const acc: Accessor =
      target.type === 'member'
        ? { kind: 'key', key: target.property }
        : { kind: 'index', expr: target.index };
    return { root: inner.root, path: [...inner.path, acc] };
  }
  return undefined;
}

export async function assignPath(scope: Scope, root: string, keys: WfValue[], value: WfValue): Promise<void> {
  if (keys.length === 0) {
    scope.set(root, value);
    return;
  }
  const rootValue = scope.get(root);
  // Re-binding the root enforces the parallel-step rule (only shared variables may be written).
  scope.set(root, rootValue);
  let container = rootValue;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const last = i === keys.length - 1;
    if (isMap(container)) {
      if (typeof key !== 'string') raiseError('TypeError', `map keys are strings, got ${typeName(key)}`);
      if (last) container.set(key, value);
      else {
        if (!container.has(key)) container.set(key, new Map());
        container = container.get(key) as WfValue;
      }
    } else if (Array.isArray(container)) {
      if (typeof key !== 'bigint') raiseError('TypeError', `list indices are integers, got ${typeName(key)}`);
      if (key < 0n || key >= BigInt(container.length))
        raiseError('IndexError', `list index ${key} out of range (length ${container.length})`);
      if (last) container[Number(key)] = value;
      else container = container[Number(key)];
    } else raiseError('TypeError', `cannot assign into ${typeName(container)} in '${root}'`);
  }
}
