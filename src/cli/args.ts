import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from './user-error';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's flags strictly: an unknown flag, a missing value or a stray argument is a
 * one-line UserError naming it and pointing to the command's help.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (error) {
    const e = error as Error & { code?: string };
    const hint = `see \`himas ${command} --help\``;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(e.message)?.[1] ?? e.message;
      throw new UserError(`unknown flag ${flag} for \`himas ${command}\`; ${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UserError(`${e.message.replace(/\.$/, '')} in \`himas ${command}\`; ${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']+)'/.exec(e.message)?.[1] ?? '';
      throw new UserError(`unexpected argument '${arg}' for \`himas ${command}\`; ${hint}`);
    }
    throw error;
  }
}

/** A flag that must be a whole number in a range. */
export function intFlag(
  name: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`--${name} '${text}' must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function stringFlag(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
