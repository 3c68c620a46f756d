import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from './suggest';
import { UserError } from './user-error';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's flags strictly: an unknown flag, a missing value or a stray argument is a
 * one-line UserError naming it and pointing to the command's help. A value that is a negative
 * number (`--rounds -3`) is taken as the flag's value, so the flag's own check says what it allows
 * instead of the parser guessing that `-3` is another option.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals,
    });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (error) {
    const e = error as Error & { code?: string };
    const hint = `see \`himas ${command} --help\``;
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(e.message)?.[1] ?? e.message;
      const known = Object.keys(options).map((name) => `--${name}`);
      throw new UserError(`unknown flag ${flag} for \`himas ${command}\`${didYouMean(flag, known)}; ${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      // node's text spans lines ("… is ambiguous. Did you forget …"); one line says the same.
      const ambiguous = /Option '(-[^']+)' argument is ambiguous/.exec(e.message);
      if (ambiguous) {
        const flag = ambiguous[1].split(',').pop()!.trim();
        throw new UserError(
          `${flag} needs a value, and the next argument starts with '-' like a flag; to pass such a value write ${flag}=VALUE; ${hint}`,
        );
      }
      throw new UserError(`${e.message.split('\n')[0].replace(/\.$/, '')} in \`himas ${command}\`; ${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']+)'/.exec(e.message)?.[1] ?? '';
      throw new UserError(`unexpected argument '${arg}' for \`himas ${command}\`; ${hint}`);
    }
    throw error;
  }
}

/** `--rounds -3` → `--rounds=-3` for string flags, so a negative number reaches the flag's own check. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
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
