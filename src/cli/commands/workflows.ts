import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  calledCallables,
  executeWorkflow,
  formatIssue,
  LOCAL_BUILTIN_ENV,
  loadWorkflow,
  loopbackHttpCallables,
  stringifyJson,
  validateWorkflowSource,
  WorkflowSyntaxError,
  type WorkflowDefinition,
} from '../../local/workflows';
import { parseCommandArgs, stringFlag } from '../args';
import type { Command } from '../main';
import { UserError } from '../user-error';

const HELP = `Usage:
  himas workflows run FILE [--data JSON] [--env K=V ...] [--http-route HOST=URL ...] [--allow-network] [--allow-unbound]
  himas workflows validate FILE

run       executes a Cloud Workflows file on the local engine and prints its result as JSON on
          stdout; an uncaught workflow error goes to stderr as JSON (message, tags) with exit 1.
          --data is the runtime argument (main's parameter), --env sets what sys.get_env returns
          (the built-ins have local defaults: ${Object.entries(LOCAL_BUILTIN_ENV)
            .slice(0, 3)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}...; --env overrides them).
          The whole standard library runs locally, events.* callbacks on loopback. http.* reaches
          loopback addresses only: --http-route example.com=http://127.0.0.1:8080 sends a host to a
          local stand-in, --allow-network lets calls leave the machine. Connectors
          (googleapis.*) are not bound: a workflow that calls one is refused before it starts,
          unless --allow-unbound (the call then ends the run).
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
        'http-route': { type: 'string', multiple: true },
        'allow-network': { type: 'boolean' },
        'allow-unbound': { type: 'boolean' },
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
    return run(source, file, {
      data: stringFlag(values, 'data'),
      env: pairs('env', values.env),
      routes: pairs('http-route', values['http-route']),
      allowNetwork: values['allow-network'] === true,
      allowUnbound: values['allow-unbound'] === true,
    });
  },
};

interface RunFlags {
  data?: string;
  env: Record<string, string>;
  routes: Record<string, string>;
  allowNetwork: boolean;
  allowUnbound: boolean;
}

function readSource(file: string): string {
  try {
    return fs.readFileSync(path.resolve(file), 'utf8');
  } catch {
    throw new UserError(`cannot read workflow file '${file}'`);
  }
}

function pairs(flag: string, raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UserError(`--${flag} '${pair}' must be ${flag === 'env' ? 'KEY=VALUE' : 'HOST=URL'}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  for (const [host, url] of flag === 'http-route' ? Object.entries(out) : [])
    if (!/^https?:\/\/[^/]+/.test(url))
      throw new UserError(`--http-route ${host}=${url}: the target must be an http(s) URL`);
  return out;
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

/**
 * Refuses, before any step runs, a workflow calling connectors this command cannot bind: started,
 * it would do its first steps (create a run...) and then stop half-way.
 */
function unboundConnectors(definition: WorkflowDefinition, file: string): string | undefined {
  const unbound = [...calledCallables(definition)].filter(([name]) => !name.startsWith('http.'));
  if (!unbound.length) return undefined;
  const at = unbound[0][1];
  const names = unbound.map(([n]) => n);
  const listed =
    names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  const instead =
    path.basename(file) === 'federated-training.yaml'
      ? 'run `himas train` instead: it executes this very file with the embedded stack bound to them'
      : 'bind them from code (executeWorkflow callables, see src/local/workflows/README.md), or pass --allow-unbound to run until the first one';
  return `${file} calls connectors this command does not bind (${listed}; first in step '${at.step}'${at.line ? `, line ${at.line}` : ''}); ${instead}`;
}

async function run(source: string, file: string, flags: RunFlags): Promise<number> {
  let argument: unknown = null;
  if (flags.data !== undefined) {
    try {
      argument = JSON.parse(flags.data);
    } catch {
      throw new UserError(`--data is not valid JSON: ${flags.data}`);
    }
  }
  let definition;
  try {
    definition = loadWorkflow(source, file);
  } catch (e) {
    if (!(e instanceof WorkflowSyntaxError)) throw e;
    for (const i of e.issues) process.stderr.write(`${formatIssue(i)}\n`);
    return 1;
  }
  const refusal = flags.allowUnbound ? undefined : unboundConnectors(definition, file);
  if (refusal) {
    process.stderr.write(`himas: ${refusal}\n`);
    return 2;
  }
  const outcome = await executeWorkflow(definition, argument, {
    env: flags.env,
    callables: loopbackHttpCallables({ routes: flags.routes, allowNetwork: flags.allowNetwork }),
  });
  if (outcome.ok) {
    process.stdout.write(`${stringifyJson(outcome.result ?? null)}\n`);
    return 0;
  }
  const error =
    outcome.error !== null && typeof outcome.error === 'object'
      ? outcome.error
      : { message: String(outcome.error), tags: [] };
  process.stderr.write(`${stringifyJson(error)}\n`);
  const at = outcome.location;
  const where = at
    ? ` in step '${at.step}' of ${at.subworkflow} (${file}${at.line ? `:${at.line}` : ''})`
    : '';
  process.stderr.write(
    outcome.local
      ? `himas: the local engine stopped the run${where} (not a workflow error: see the message above)\n`
      : `himas: workflow failed${where}\n`,
  );
  return 1;
}
