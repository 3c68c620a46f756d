import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import type { ValidationIssue } from './errors';

/**
 * Validates a workflow against the official JSON schema (draft-07), vendored in
 * schemas/reference/cloud-workflows.schema.json. It checks syntax only; the engine's own checks
 * (validator.ts) cover references and scoping.
 */
const SCHEMA_PATH = path.resolve(__dirname, '../../../schemas/reference/cloud-workflows.schema.json');
let compiled: ValidateFunction | undefined;

type SchemaNode = Record<string, unknown>;
const EXPRESSION = { type: 'string', pattern: '^\\$\\{.+\\}$' };

/**
 * Where the vendored schema is stricter than Cloud Workflows (so `validate` would reject what
 * `run` and `gcloud workflows deploy` accept), it is relaxed here, at load time, leaving the
 * vendored file as published:
 * - backoff `initial_delay`, `max_delay` and `multiplier` are numbers, not only integers (the
 *   documented default multiplier is 1.25: https://cloud.google.com/workflows/docs/reference/stdlib/retry/default_backoff);
 * - `args` may be a list of positional arguments (https://cloud.google.com/workflows/docs/reference/stdlib/sys/log);
 * - `range` items may be expressions (`range: [${a}, ${b}]`, https://cloud.google.com/workflows/docs/reference/syntax/iteration).
 */
export function relaxSchema(schema: SchemaNode): SchemaNode {
  const defs = schema.definitions as Record<string, SchemaNode>;
  const retry = (defs.retry.oneOf as SchemaNode[])[0];
  const backoff = (retry.properties as Record<string, SchemaNode>).backoff.properties as Record<
    string,
    SchemaNode
  >;
  for (const k of ['initial_delay', 'max_delay', 'multiplier'])
    backoff[k] = { anyOf: [{ type: 'number', minimum: 0 }, EXPRESSION], description: backoff[k].description };
  defs.args = { anyOf: [defs.args, { type: 'array' }] };
  const range = ((defs.for.properties as Record<string, SchemaNode>).range.anyOf as SchemaNode[])[0];
  range.items = { anyOf: [{ type: 'number' }, EXPRESSION] };
  return schema;
}

function validator(): ValidateFunction {
  if (!compiled) {
    // `format: uri` is informational here (URLs are usually expressions): formats are not enforced.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    compiled = ajv.compile(relaxSchema(JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')) as SchemaNode));
  }
  return compiled;
}

/** Maps a JSON pointer such as /main/steps/2/fetch/call to the step it is in ('fetch'). */
function stepFromPointer(pointer: string): string | undefined {
  const parts = pointer.split('/').slice(1);
  let step: string | undefined;
  for (let i = 0; i + 2 < parts.length + 1; i++)
    if (
      (parts[i] === 'steps' || parts[i] === 'branches' || i === 0) &&
      /^\d+$/.test(parts[i + 1] ?? '') &&
      parts[i + 2]
    )
      step = parts[i + 2].replace(/~1/g, '/').replace(/~0/g, '~');
  return step;
}

export function validateAgainstSchema(
  json: unknown,
  file: string,
  stepLines: Map<string, number>,
): ValidationIssue[] {
  const validate = validator();
  if (validate(json)) return [];
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  // The top level is oneOf(map with main, list of steps): report the errors inside a step first.
  const errors = [...(validate.errors ?? [])].sort((a, b) => b.instancePath.length - a.instancePath.length);
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') continue;
    const where = e.instancePath || '/';
    const extra =
      e.keyword === 'additionalProperties'
        ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'`
        : '';
    const message = `schema: ${where} ${e.message ?? 'is invalid'}${extra}`;
    if (seen.has(message)) continue;
    seen.add(message);
    const step = stepFromPointer(e.instancePath);
    issues.push({ file, step, line: step ? stepLines.get(step) : undefined, message });
    if (issues.length >= 5) break;
  }
  return issues.length ? issues : [{ file, message: 'schema: does not match the Cloud Workflows schema' }];
}
