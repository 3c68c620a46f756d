import type { Step, StepBody, WorkflowDefinition } from './definition';
import { STDLIB_FUNCTIONS } from './stdlib';

/**
 * The names a workflow's `call` steps name that are neither its subworkflows nor the standard
 * library (connectors, http.*), each with the first step calling it, so a caller can tell before
 * running what it would have to bind.
 */
export function calledCallables(
  def: WorkflowDefinition,
): Map<string, { subworkflow: string; step: string; line?: number }> {
  const out = new Map<string, { subworkflow: string; step: string; line?: number }>();
  const visit = (body: StepBody, subworkflow: string, step: string, line?: number): void => {
    const name = body.call;
    if (name !== undefined && !def.subworkflows.has(name) && !STDLIB_FUNCTIONS.has(name) && !out.has(name))
      out.set(name, { subworkflow, step, line });
    const lists: Step[][] = [];
    if (body.for) lists.push(body.for.steps);
    if (body.parallel?.for) lists.push(body.parallel.for.steps);
    for (const b of body.parallel?.branches ?? []) lists.push(b.steps);
    if (body.try) lists.push(body.try);
    if (body.except) lists.push(body.except.steps);
    if (body.steps) lists.push(body.steps);
    for (const c of body.switch ?? []) visit(c, subworkflow, step, c.line ?? line);
    for (const steps of lists) for (const s of steps) visit(s, subworkflow, s.name, s.line);
  };
  for (const sub of def.subworkflows.values()) for (const s of sub.steps) visit(s, sub.name, s.name, s.line);
  return out;
}
