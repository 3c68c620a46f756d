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

function validator(): ValidateFunction {
  if (!compiled) {
    // `format: uri` is informational here (URLs are usually expressions): formats are not enforced.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    compiled = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')));
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
