import * as fs from 'node:fs';
import { stringify } from 'lossless-json';
import { randomUUID } from 'node:crypto';
import { builtinEnvironment } from './builtin-env';
import { CallbackEndpoints } from './callbacks';
import { systemClock, type WorkflowClock } from './clock';
import type { WorkflowDefinition } from './definition';
import { LocalEnvironmentError, WorkflowRaise, WorkflowSyntaxError, type StepLocation } from './errors';
import { Interpreter, type Callable } from './interpreter';
import { parseWorkflowSource } from './parser';
import { toJs, fromJs, WfBytes, type WfValue } from './values';
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
export { loopbackHttpCallables, type LocalHttpOptions } from './http-loopback';
export { LOCAL_BUILTIN_ENV, builtinEnvironment } from './builtin-env';
export { calledCallables } from './called-callables';

export interface WorkflowEngineOptions {
  /** Functions a `call` step may name besides subworkflows and the standard library. */
  callables?: Record<string, Callable>;
  /**
   * What sys.get_env returns, over the local defaults of the built-in variables
   * (GOOGLE_CLOUD_PROJECT_ID... see builtin-env.ts), which a caller may override here.
   */
  env?: Record<string, string | undefined>;
  clock?: WorkflowClock;
  /** Where sys.log goes (default: a structured JSON line on stderr). */
  log?: (entry: { severity: string; message: unknown }) => void;
  randomUuid?: () => string;
  maxCallDepth?: number;
  maxSteps?: number;
}

/**
 * How an execution ended. `local: true` marks what the local engine could not do (a non-loopback
 * host, an unbound connector): the workflow is not at fault and did not see the error.
 */
export type WorkflowOutcome =
  { ok: true; result: unknown } | { ok: false; error: unknown; location?: StepLocation; local?: true };

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
  const env = builtinEnvironment(definition.file, options.env ?? {});
  const log = options.log ?? ((entry) => process.stderr.write(`${stringifyJson(entry)}\n`));
  const clock = options.clock ?? systemClock;
  let callbacks: CallbackEndpoints | undefined;
  const interpreter = new Interpreter(definition, {
    callables: options.callables ?? {},
    maxCallDepth: options.maxCallDepth ?? 20,
    maxSteps: options.maxSteps ?? 1_000_000,
    stdlib: {
      clock,
      env,
      log: (entry) => log({ severity: entry.severity, message: toJs(entry.message as WfValue) }),
      randomUuid: options.randomUuid ?? randomUUID,
      callbacks: () => (callbacks ??= new CallbackEndpoints(callbackBasePath(env), () => clock.now())),
    },
  });
  try {
    const result = await interpreter.run(fromJs(argument));
    // https://cloud.google.com/workflows/docs/reference/syntax/datatypes#bytes: an execution cannot
    // return bytes; encode them first (base64.encode, text.decode).
    if (containsBytes(result))
      return {
        ok: false,
        error: {
          message:
            'the workflow returned bytes, which an execution result cannot hold; return base64.encode(...) or text.decode(...) instead',
          tags: ['TypeError'],
        },
      };
    return { ok: true, result: toJs(result) };
  } catch (e) {
    if (e instanceof WorkflowRaise) return { ok: false, error: toJs(e.value), location: e.location };
    if (e instanceof LocalEnvironmentError)
      return {
        ok: false,
        error: { message: e.message, tags: ['LocalEnvironmentError'] },
        location: e.location,
        local: true,
      };
    throw e;
  } finally {
    await callbacks?.close();
  }
}

function callbackBasePath(env: Record<string, string | undefined>): string {
  return (
    `/v1/projects/${env.GOOGLE_CLOUD_PROJECT_ID}/locations/${env.GOOGLE_CLOUD_LOCATION}` +
    `/workflows/${env.GOOGLE_CLOUD_WORKFLOW_ID}/executions/${env.GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID}`
  );
}

function containsBytes(v: WfValue): boolean {
  if (v instanceof WfBytes) return true;
  if (Array.isArray(v)) return v.some(containsBytes);
  if (v instanceof Map) return [...v.values()].some(containsBytes);
  return false;
}

/** JSON text of an engine result: integers beyond 2^53 come back as bigint and are written in full. */
export function stringifyJson(value: unknown, indent?: number): string {
  return stringify(value, undefined, indent) ?? 'null';
}
