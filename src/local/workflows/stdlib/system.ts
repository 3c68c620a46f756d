import { raiseError } from '../errors';
import { isNumber, typeName, type WfValue } from '../values';
import { formatValue } from './conversions';
import { defineFunctions } from './registry';

/**
 * sys.*, time.format and uuid.generate (https://cloud.google.com/workflows/docs/reference/stdlib/sys/now,
 * .../sys/get_env, .../sys/log, .../sys/sleep, .../time/format, .../uuid/generate).
 * The clock and the environment are injected (no ambient Date.now() in the engine).
 */
export const systemFunctions = defineFunctions({
  'sys.now': [[], 0, (_args, ctx) => ctx.clock.now() / 1000],
  'sys.get_env': [
    ['name', 'default'],
    1,
    ([name, dflt], ctx) => {
      if (typeof name !== 'string') raiseError('TypeError', 'sys.get_env: name must be a string');
      return ctx.env[name] ?? dflt ?? null;
    },
  ],
  'sys.log': [
    ['data', 'severity', 'text', 'json', 'timeout'],
    0,
    ([data, severity, text, json], ctx) => {
      const message = text ?? json ?? data ?? null;
      ctx.log({ severity: typeof severity === 'string' ? severity : 'DEFAULT', message });
      return null;
    },
    true,
  ],
  'sys.sleep': [
    ['seconds'],
    1,
    async ([seconds], ctx) => {
      if (seconds === undefined || !isNumber(seconds) || Number(seconds) < 0)
        raiseError(
          'ValueError',
          `sys.sleep: seconds must be a non-negative number, got ${typeName(seconds ?? null)}`,
        );
      await ctx.clock.sleep(Number(seconds));
      return null;
    },
    true,
  ],
  'time.format': [
    ['seconds', 'timezone'],
    1,
    ([seconds, tz]) => {
      if (seconds === undefined || !isNumber(seconds))
        raiseError('TypeError', 'time.format: seconds must be a number');
      if (tz !== undefined && tz !== null && tz !== 'UTC' && tz !== 'Etc/UTC')
        raiseError('ValueError', `time.format: only UTC is supported locally, got '${formatValue(tz)}'`);
      return new Date(Number(seconds) * 1000).toISOString();
    },
  ],
  'uuid.generate': [[], 0, (_args, ctx) => ctx.randomUuid()],
});

export type { WfValue };
