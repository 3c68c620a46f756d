import { raiseError } from '../errors';
import type { Scope } from '../scope';
import { fromJs, isMap, typeName, WfFunctionRef, type WfValue } from '../values';
import { binaryOp, unaryMinus } from './arithmetic';
import { dottedName, rootName, type Expr } from './ast';

/** What an expression can reach besides variables: named functions, constants and subworkflows. */
export interface EvalEnv {
  scope: Scope;
  /** A value for a qualified name that is not a variable (`http.default_retry`), or undefined. */
  resolveName(name: string): WfValue | undefined;
  call(name: string, args: WfValue[]): Promise<WfValue>;
}

/**
 * Evaluates an expression (https://cloud.google.com/workflows/docs/reference/syntax/expressions).
 * A missing map key is a KeyError, a list index out of range an IndexError; `and`/`or` take
 * booleans only (datatypes page, "Logical operators") and short-circuit.
 */
export async function evaluateExpr(e: Expr, env: EvalEnv): Promise<WfValue> {
  switch (e.type) {
    case 'literal':
      return e.value;
    case 'name': {
      if (env.scope.has(e.name)) return env.scope.get(e.name);
      const v = env.resolveName(e.name);
      if (v !== undefined) return v;
      raiseError('KeyError', `variable '${e.name}' is not defined`);
      break;
    }
    case 'member': {
      const qualified = qualifiedName(e, env);
      if (qualified !== undefined) {
        const v = env.resolveName(qualified);
        if (v !== undefined) return v;
        // `retry.default_backoff.multiplier`: a key of a named constant.
        const parts = qualified.split('.');
        const constantPrefix = parts
          .slice(0, -1)
          .some((_, i) => env.resolveName(parts.slice(0, i + 1).join('.')) !== undefined);
        if (!constantPrefix)
          raiseError('KeyError', `'${qualified}' is neither a variable nor a known function`);
      }
      const obj = await evaluateExpr(e.object, env);
      if (!isMap(obj)) raiseError('TypeError', `cannot read property '${e.property}' of ${typeName(obj)}`);
      if (!obj.has(e.property)) raiseError('KeyError', `key '${e.property}' not found`);
      return obj.get(e.property) as WfValue;
    }
    case 'index': {
      const obj = await evaluateExpr(e.object, env);
      const idx = await evaluateExpr(e.index, env);
      if (Array.isArray(obj)) {
        if (typeof idx !== 'bigint')
          raiseError('TypeError', `list indices must be integers, got ${typeName(idx)}`);
        if (idx < 0n || idx >= BigInt(obj.length))
          raiseError('IndexError', `list index ${idx} out of range (length ${obj.length})`);
        return obj[Number(idx)];
      }
      if (isMap(obj)) {
        if (typeof idx !== 'string')
          raiseError('TypeError', `map keys must be strings, got ${typeName(idx)}`);
        if (!obj.has(idx)) raiseError('KeyError', `key '${idx}' not found`);
        return obj.get(idx) as WfValue;
      }
      raiseError('TypeError', `cannot index ${typeName(obj)}`);
      break;
    }
    case 'call': {
      let name = qualifiedName(e.callee, env);
      if (name === undefined) {
        const callee = await evaluateExpr(e.callee, env);
        if (!(callee instanceof WfFunctionRef))
          raiseError('TypeError', `${typeName(callee)} is not callable`);
        name = callee.name;
      }
      const args: WfValue[] = [];
      for (const a of e.args) args.push(await evaluateExpr(a, env));
      return env.call(name, args);
    }
    case 'unary': {
      const v = await evaluateExpr(e.operand, env);
      if (e.op === '-') return unaryMinus(v);
      if (typeof v !== 'boolean') raiseError('TypeError', `'not' needs a boolean, got ${typeName(v)}`);
      return !v;
    }
    case 'binary': {
      if (e.op === 'and' || e.op === 'or') {
        const l = await evaluateExpr(e.left, env);
        if (typeof l !== 'boolean') raiseError('TypeError', `'${e.op}' needs booleans, got ${typeName(l)}`);
        if (e.op === 'and' ? !l : l) return l;
        const r = await evaluateExpr(e.right, env);
        if (typeof r !== 'boolean') raiseError('TypeError', `'${e.op}' needs booleans, got ${typeName(r)}`);
        return r;
      }
      return binaryOp(e.op, await evaluateExpr(e.left, env), await evaluateExpr(e.right, env));
    }
    case 'list': {
      const out: WfValue[] = [];
      for (const x of e.items) out.push(await evaluateExpr(x, env));
      return out;
    }
    case 'map': {
      const out = new Map<string, WfValue>();
      for (const { key, value } of e.entries) {
        const k = key.type === 'name' ? key.name : await evaluateExpr(key, env);
        if (typeof k !== 'string') raiseError('TypeError', `map keys must be strings, got ${typeName(k)}`);
        out.set(k, await evaluateExpr(value, env));
      }
      return out;
    }
  }
  return fromJs(null);
}

/** `a.b.c` names a function/constant when `a` is not a variable in scope. */
function qualifiedName(e: Expr, env: EvalEnv): string | undefined {
  const name = dottedName(e);
  if (name === undefined) return undefined;
  const root = rootName(e) as string;
  return env.scope.has(root) ? undefined : name;
}
