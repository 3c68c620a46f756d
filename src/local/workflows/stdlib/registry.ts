import type { CallbackEndpoints } from '../callbacks';
import type { WorkflowClock } from '../clock';
import { raiseError } from '../errors';
import type { WfValue } from '../values';

/** What standard-library functions may use: injected, so tests are deterministic. */
export interface StdlibContext {
  clock: WorkflowClock;
  env: Record<string, string | undefined>;
  log(entry: { severity: string; message: WfValue }): void;
  randomUuid(): string;
  /** The execution's callback endpoints, served on loopback from the first one created. */
  callbacks(): CallbackEndpoints;
}

/**
 * A standard-library function. `params` names the arguments, so the function can be called
 * positionally in an expression or with named `args` in a `call` step. `blocking` functions
 * (sys.sleep, sys.log) may only be used in a `call` step.
 */
export interface StdlibFunction {
  name: string;
  params: string[];
  required: number;
  blocking?: boolean;
  fn(args: (WfValue | undefined)[], ctx: StdlibContext): WfValue | Promise<WfValue>;
}

export function defineFunctions(
  defs: Record<string, [params: string[], required: number, fn: StdlibFunction['fn'], blocking?: boolean]>,
): StdlibFunction[] {
  return Object.entries(defs).map(([name, [params, required, fn, blocking]]) => ({
    name,
    params,
    required,
    fn,
    blocking,
  }));
}

/**
 * The argument list a `call` step passes to a standard-library function: named `args` matched to
 * its parameters, or a positional list in parameter order; trailing unset ones are dropped.
 */
export function bindCallArguments(
  fn: StdlibFunction,
  named: Map<string, WfValue>,
  positional?: WfValue[],
): (WfValue | undefined)[] {
  if (positional) {
    if (positional.length > fn.params.length)
      raiseError(
        'TypeError',
        `${fn.name} takes at most ${fn.params.length} arguments, got ${positional.length}`,
      );
    positional.forEach((v, i) => named.set(fn.params[i], v));
  }
  const ordered: (WfValue | undefined)[] = fn.params.map((p) => named.get(p));
  for (const k of named.keys())
    if (!fn.params.includes(k)) raiseError('TypeError', `${fn.name} has no argument '${k}'`);
  for (let i = 0; i < fn.required; i++)
    if (ordered[i] === undefined)
      raiseError('TypeError', `${fn.name} is missing the argument '${fn.params[i]}'`);
  while (ordered.length && ordered[ordered.length - 1] === undefined) ordered.pop();
  return ordered;
}
