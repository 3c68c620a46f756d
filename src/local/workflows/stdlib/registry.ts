import type { CallbackEndpoints } from '../callbacks';
import type { WorkflowClock } from '../clock';
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
