import type { ParallelDef, Step } from '../definition';
import { errorValue, raiseError, WorkflowRaise } from '../errors';
import { Scope } from '../scope';
import { fromJs, typeName, type WfValue } from '../values';
import { NORMAL, type Completion, type Frame, type Runner } from '../runtime';
import { iterationScope, loopItems } from './for-loop';

/**
 * `parallel` with `branches` or `for` (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps):
 * - each branch/iteration runs in its own scope; it can read outer variables but assign only the
 *   ones listed in `shared`, new variables stay branch-local;
 * - `concurrency_limit` caps how many run at once, the rest queue;
 * - `exception_policy: continueAll` (the default and only policy): an unhandled error in one
 *   branch lets the others finish; then the step raises UnhandledBranchError listing each
 *   failed branch's error.
 */
export async function executeParallel(
  def: ParallelDef,
  stepName: string,
  runner: Runner,
  scope: Scope,
  frame: Frame,
): Promise<Completion> {
  const shared = new Set(def.shared);
  for (const name of shared)
    if (!scope.has(name))
      raiseError('KeyError', `shared variable '${name}' must be assigned before the parallel step`);
  let limit = Infinity;
  if (def.concurrencyLimit !== undefined) {
    const v = await runner.evaluate(def.concurrencyLimit, scope, frame);
    if (typeof v !== 'bigint' || v < 1n)
      raiseError('ValueError', `concurrency_limit must be a positive integer, got ${typeName(v)}`);
    limit = Number(v);
  }

  const tasks: { id: string; steps: Step[]; scope: () => Scope }[] = [];
  if (def.branches)
    for (const b of def.branches)
      tasks.push({ id: b.name, steps: b.steps, scope: () => new Scope(scope, shared) });
  if (def.for) {
    const loop = def.for;
    const items = await loopItems(loop, runner, scope, frame);
    items.forEach((item, i) =>
      tasks.push({
        id: String(i),
        steps: loop.steps,
        scope: () => iterationScope(scope, loop, item, i, shared),
      }),
    );
  }

  const failures: { id: string; error: WfValue }[] = [];
  let stopLaunching = false;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !stopLaunching) {
      const task = tasks[next++];
      try {
        const c = await runner.executeSteps(task.steps, task.scope(), frame);
        if (c.kind === 'break' && def.for) stopLaunching = true;
        else if (c.kind === 'return' || c.kind === 'end' || c.kind === 'jump' || c.kind === 'break')
          raiseError(
            'SystemError',
            `'${c.kind === 'jump' ? `next: ${c.target}` : c.kind}' cannot leave a parallel branch`,
          );
      } catch (e) {
        if (!(e instanceof WorkflowRaise)) throw e;
        failures.push({ id: task.id, error: e.value });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failures.length) {
    failures.sort((a, b) => tasks.findIndex((t) => t.id === a.id) - tasks.findIndex((t) => t.id === b.id));
    const value = errorValue(
      'UnhandledBranchError',
      `UnhandledBranchError: ${failures.length} branch(es) or iteration(s) of '${stepName}' raised an unhandled error`,
    ) as Map<string, WfValue>;
    value.set(
      'branches',
      failures.map((f) => fromJs({ id: f.id, error: f.error })),
    );
    throw new WorkflowRaise(value);
  }
  return NORMAL;
}
