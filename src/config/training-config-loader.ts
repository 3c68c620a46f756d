import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { TrainingConfigSchema, type TrainingConfig } from '../../schemas/training-config';
import { closestName } from '../cli/suggest';
import { UserError } from '../cli/user-error';

/**
 * Builds the training configuration from, in increasing precedence: defaults, a JSON/YAML file,
 * HIMAS_* environment variables and command-line flags. Validated once; a bad value is rejected
 * with the field, the value, where it came from and what is allowed.
 */
export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

type FieldKind = 'int' | 'number' | 'string' | 'int-list' | 'number-or-none' | 'boolean';

/** Every configurable field, its type for parsing text (flags and env), in one table. */
export const CONFIG_FIELDS: Record<keyof TrainingConfig, FieldKind> = {
  rounds: 'int',
  hospitals: 'int',
  preset: 'string',
  patients: 'int',
  seed: 'int',
  model: 'string',
  hiddenUnits: 'int-list',
  localEpochs: 'int',
  batchSize: 'int',
  localLearningRate: 'number',
  serverLearningRate: 'number',
  aggregation: 'string',
  trimFraction: 'number',
  serverOptimizer: 'string',
  serverMomentum: 'number',
  proximalMu: 'number',
  clipNorm: 'number',
  noiseMultiplier: 'number',
  secureAggregation: 'boolean',
  secureAggregationMinHospitals: 'int',
  secureAggregationThreshold: 'int',
  epsilonBudget: 'number-or-none',
  delta: 'number',
  patientPrivacy: 'string',
  patientTargetEpsilon: 'number',
  patientBudgetEpsilon: 'number',
  evaluateEveryRound: 'boolean',
  exampleClipNorm: 'number',
  siteIntercept: 'boolean',
  quorum: 'int',
  deadlineSeconds: 'int',
  outbreak: 'string',
  surveillancePeriodStart: 'string',
  surveillanceWeeks: 'int',
  surveillanceNoiseMultiplier: 'number-or-none',
  surveillanceThreshold: 'number',
  treatmentNoiseMultiplier: 'number-or-none',
};

export const flagName = (field: string): string => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (field: string): string =>
  `HIMAS_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

interface Provenance {
  source: ConfigSource;
  /** e.g. `--rounds`, `HIMAS_ROUNDS`, `config.yaml` */
  origin: string;
}

export interface LoadConfigInput {
  /** Flag values as text, keyed by field name (already mapped from --kebab-case). */
  flags?: Partial<Record<string, string>>;
  /** Path of a JSON or YAML file holding a partial config. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values set programmatically (for example a resumed run's stored config), lowest precedence after defaults. */
  base?: Partial<TrainingConfig>;
}

export function loadTrainingConfig(input: LoadConfigInput): TrainingConfig {
  const raw: Record<string, unknown> = {};
  const provenance: Record<string, Provenance> = {};
  const put = (field: string, value: unknown, p: Provenance) => {
    raw[field] = value;
    provenance[field] = p;
  };

  for (const [field, value] of Object.entries(input.base ?? {})) {
    if (value !== undefined) put(field, value, { source: 'default', origin: 'the stored run config' });
  }
  if (input.file) {
    const fromFile = readConfigFile(input.file);
    for (const [field, value] of Object.entries(fromFile)) {
      put(field, value, { source: 'file', origin: path.basename(input.file) });
    }
  }
  const env = input.env ?? {};
  for (const field of Object.keys(CONFIG_FIELDS)) {
    const text = env[envName(field)];
    if (text !== undefined && text !== '') {
      put(field, parseText(field, text, envName(field)), { source: 'env', origin: envName(field) });
    }
  }
  for (const [field, text] of Object.entries(input.flags ?? {})) {
    if (text === undefined) continue;
    if (!(field in CONFIG_FIELDS)) throw new UserError(`unknown config field ${withSuggestion(field)}`);
    put(field, parseText(field, text, `--${flagName(field)}`), {
      source: 'flag',
      origin: `--${flagName(field)}`,
    });
  }

  const parsed = TrainingConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new UserError(describeConfigIssues(parsed.error, raw, provenance));
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new UserError(
      `config file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(
      `config file ${file} must hold a mapping of fields (like "rounds: 5"), not ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  }
  const unknown = Object.keys(value).filter((key) => !(key in CONFIG_FIELDS));
  if (unknown.length > 0) {
    throw new UserError(
      `config file ${file}: unknown field(s) ${unknown.map(withSuggestion).join(', ')}; allowed: ${Object.keys(CONFIG_FIELDS).join(', ')}`,
    );
  }
  return value as Record<string, unknown>;
}

/** `'local_epochs' (did you mean 'localEpochs'?)`, or just the quoted key when nothing is close. */
function withSuggestion(key: string): string {
  const near = closestName(key, Object.keys(CONFIG_FIELDS));
  return near === undefined ? `'${key}'` : `'${key}' (did you mean '${near}'?)`;
}

/** Turns flag/env text into the field's type; the schema then checks ranges. */
function parseText(field: string, text: string, origin: string): unknown {
  const kind = CONFIG_FIELDS[field as keyof TrainingConfig];
  const number = (t: string) => {
    const value = Number(t.trim());
    if (t.trim() === '' || !Number.isFinite(value)) {
      throw new UserError(`invalid config field '${field}' = '${text}' (from ${origin}): expected a number`);
    }
    return value;
  };
  switch (kind) {
    case 'int':
    case 'number':
      return number(text);
    case 'number-or-none':
      return /^(none|null)$/i.test(text.trim()) ? null : number(text);
    case 'int-list':
      return text.split(',').map((part) => number(part));
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(word)) return true;
      if (['false', 'no', 'off', '0'].includes(word)) return false;
      throw new UserError(
        `invalid config field '${field}' = '${text}' (from ${origin}): expected true or false`,
      );
    }
    default:
      return text;
  }
}

function describeConfigIssues(
  error: z.ZodError,
  raw: Record<string, unknown>,
  provenance: Record<string, Provenance>,
): string {
  const lines = error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      return `unknown config field(s) ${issue.keys.map(withSuggestion).join(', ')}`;
    }
    const origin = provenance[field];
    const where = origin ? ` (from ${origin.origin})` : '';
    const value = field in raw ? JSON.stringify(raw[field]) : 'missing';
    return `config field '${field}' = ${value}${where}: ${allowedMessage(issue)}`;
  });
  return lines.length === 1 ? `invalid ${lines[0]}` : `invalid configuration:\n  ${lines.join('\n  ')}`;
}

function allowedMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return `must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message;
  }
}
