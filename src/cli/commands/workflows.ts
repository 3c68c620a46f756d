import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  executeWorkflow,
  formatIssue,
  loadWorkflow,
  loopbackHttpCallables,
  validateWorkflowSource,
  WorkflowSyntaxError,
} from '../../local/workflows';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { UserError } from '../user-error';

const HELP = `Usage:
  himas workflows run FILE [--data JSON] [--env K=V ...]
  himas workflows validate FILE

run       executes a Cloud Workflows file on the local engine and prints its result as JSON on
          stdout; an uncaught workflow error goes to stderr as JSON (message, tags) with exit 1.
          --data is the runtime argument (main's parameter), --env sets what sys.get_env returns.
          Only sys.* and http.* (to loopback addresses) are bound.
validate  checks a workflow against the official JSON schema and the engine's deploy-time checks.`;

export const workflowsCommand: Command = {
  summary: 'run or validate a Cloud Workflows file locally (himas workflows run FILE)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'workflows',
      argv,
      {
        data: { type: 'string' },
        env: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help || positionals.length === 0) {
      process.stdout.write(`${HELP}\n`);
      return values.help ? 0 : 2;
    }
    const [verb, file, ...rest] = positionals;
    if (verb !== 'run' && verb !== 'validate')
      throw new UserError(`unknown workflows verb '${verb}'; use run or validate`);
    if (!file) throw new UserError(`himas workflows ${verb} needs a FILE`);
    if (rest.length) throw new UserError(`unexpected argument '${rest[0]}' for \`himas workflows ${verb}\``);
    const source = readSource(file);
    if (verb === 'validate') return validate(source, file);
    return run(source, file, stringFlag(values, 'data'), (values.env as string[] | undefined) ?? []);
  },
};

function readSource(file: string): string {
  try {
    return fs.readFileSync(path.resolve(file), 'utf8');
  } catch {
    throw new UserError(`cannot read workflow file '${file}'`);
  }
}

function validate(source: string, file: string): number {
  const issues = validateWorkflowSource(source, file);
  if (issues.length === 0) {
    process.stdout.write(`ok ${file}\n`);
    return 0;
  }
  for (const i of issues) process.stderr.write(`${formatIssue(i)}\n`);
  return 1;
}

async function run(
  source: string,
  file: string,
  data: string | undefined,
  envPairs: string[],
): Promise<number> {
  let argument: unknown = null;
  if (data !== undefined) {
    try {
      argument = JSON.parse(data);
    } catch {
      throw new UserError(`--data is not valid JSON: ${data}`);
    }
  }
  const env: Record<string, string> = {};
  for (const pair of envPairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`--env '${pair}' must be KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let definition;
  try {
    definition = loadWorkflow(source, file);
  } catch (e) {
    if (!(e instanceof WorkflowSyntaxError)) throw e;
    for (const i of e.issues) process.stderr.write(`${formatIssue(i)}\n`);
    return 1;
  }
  const outcome = await executeWorkflow(definition, argument, { env, callables: loopbackHttpCallables() });
  if (outcome.ok) {
    process.stdout.write(`${JSON.stringify(outcome.result ?? null)}\n`);
    return 0;
  }
  const error =
    outcome.error !== null && typeof outcome.error === 'object'
      ? outcome.error
      : { message: String(outcome.error), tags: [] };
  process.stderr.write(`${JSON.stringify(error)}\n`);
  const at = outcome.location;
  if (at)
    process.stderr.write(
      `himas: workflow failed in step '${at.step}' of ${at.subworkflow} (${file}${at.line ? `:${at.line}` : ''})\n`,
    );
  return 1;
}
