import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { systemClock, type WorkflowClock } from './clock';
import type { WorkflowDefinition } from './definition';
import { WorkflowRaise, WorkflowSyntaxError, type StepLocation } from './errors';
import { Interpreter, type Callable } from './interpreter';
import { parseWorkflowSource } from './parser';
import { toJs, fromJs, type WfValue } from './values';
import { checkDefinition } from './validator';

/**
 * The local Cloud Workflows engine. A caller loads a workflow file and executes it with the
 * callables (connectors, http.*) bound to its stack:
 *
 *   const workflow = loadWorkflowFile('workflows/federated-training.yaml');
 *   const outcome = await executeWorkflow(workflow, { rounds: 3 }, {
 *     callables: { 'googleapis.pubsub.v1.projects.topics.publish': publish, ... },
 *     env: { HIMAS_REGION: 'local' },
 *   });
 *   if (!outcome.ok) console.error(outcome.error, outcome.location);
 */
export type { Callable, CallableContext } from './interpreter';
export type { WorkflowDefinition } from './definition';
export {
  CallableError,
  WorkflowSyntaxError,
  formatIssue,
  type ValidationIssue,
  type StepLocation,
} from './errors';
export { systemClock, virtualClock, type WorkflowClock, type VirtualClock } from './clock';
export { validateWorkflowSource } from './validator';
export { loopbackHttpCallables } from './http-loopback';

export interface WorkflowEngineOptions {
  /** Functions a `call` step may name besides subworkflows and the standard library. */
  callables?: Record<string, Callable>;
  /** What sys.get_env returns. */
  env?: Record<string, string | undefined>;
  clock?: WorkflowClock;
  /** Where sys.log goes (default: a structured JSON line on stderr). */
  log?: (entry: { severity: string; message: unknown }) => void;
  randomUuid?: () => string;
  maxCallDepth?: number;
  maxSteps?: number;
}

export type WorkflowOutcome =
  { ok: true; result: unknown } | { ok: false; error: unknown; location?: StepLocation };

/** Parses a workflow and runs the deploy-time checks; throws WorkflowSyntaxError on any problem. */
export function loadWorkflow(source: string, file = '<workflow>'): WorkflowDefinition {
  const { definition } = parseWorkflowSource(source, file);
  const issues = checkDefinition(definition);
  if (issues.length) throw new WorkflowSyntaxError(issues);
  return definition;
}

export function loadWorkflowFile(path: string): WorkflowDefinition {
  return loadWorkflow(fs.readFileSync(path, 'utf8'), path);
}

/**
 * Executes `main` with `argument` (the runtime argument, plain JSON data). The result and errors
 * come back as plain JSON-like data; an uncaught workflow error also says which step raised it.
 */
export async function executeWorkflow(
  definition: WorkflowDefinition,
  argument: unknown,
  options: WorkflowEngineOptions = {},
): Promise<WorkflowOutcome> {
  const env = options.env ?? {};
  const log = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const interpreter = new Interpreter(definition, {
    callables: options.callables ?? {},
    maxCallDepth: options.maxCallDepth ?? 20,
    maxSteps: options.maxSteps ?? 1_000_000,
    stdlib: {
      clock: options.clock ?? systemClock,
      env,
      log: (entry) => log({ severity: entry.severity, message: toJs(entry.message as WfValue) }),
      randomUuid: options.randomUuid ?? randomUUID,
    },
  });
  try {
    return { ok: true, result: toJs(await interpreter.run(fromJs(argument))) };
  } catch (e) {
    if (e instanceof WorkflowRaise) return { ok: false, error: toJs(e.value), location: e.location };
    throw e;
  }
}
