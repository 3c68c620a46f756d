import { raiseError } from '../errors';
import { isMap, isNumber, typeName, WfBytes, WfFunctionRef, type WfValue } from '../values';
import { defineFunctions } from './registry';

/**
 * sys.now, sys.get_env, sys.log, sys.sleep and uuid.generate
 * (https://cloud.google.com/workflows/docs/reference/stdlib/sys/now, .../sys/get_env, .../sys/log,
 * .../sys/sleep, .../uuid/generate). The clock and the environment are injected (no ambient
 * Date.now() in the engine).
 */
export const LOG_SEVERITIES = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
];
const ONE_YEAR_SECONDS = 31_536_000;

const loggable = (v: WfValue): boolean => !(v instanceof WfBytes || v instanceof WfFunctionRef);

/** sys.log takes exactly one of data, text and json (a null one counts as not given). */
function logPayload(
  data: WfValue | undefined,
  text: WfValue | undefined,
  json: WfValue | undefined,
): WfValue {
  const given = [data, text, json].filter((v) => v !== undefined && v !== null);
  if (given.length !== 1)
    raiseError(
      'TypeError',
      `sys.log: give exactly one of data, text and json (got ${given.length === 0 ? 'none' : given.length})`,
    );
  if (json !== undefined && json !== null && !isMap(json))
    raiseError('TypeError', `sys.log: json must be a map, got ${typeName(json)}`);
  if (!loggable(given[0] as WfValue))
    raiseError('TypeError', `sys.log: a ${typeName(given[0] as WfValue)} cannot be logged`);
  return given[0] as WfValue;
}

export const systemFunctions = defineFunctions({
  'sys.now': [[], 0, (_args, ctx) => ctx.clock.now() / 1000],
  'sys.get_env': [
    ['name', 'default'],
    1,
    ([name, dflt], ctx) => {
      if (typeof name !== 'string') raiseError('TypeError', 'sys.get_env: name must be a string');
      if (dflt !== undefined && dflt !== null && typeof dflt !== 'string')
        raiseError('TypeError', `sys.get_env: default must be a string, got ${typeName(dflt)}`);
      return ctx.env[name] ?? dflt ?? null;
    },
  ],
  'sys.log': [
    ['data', 'severity', 'text', 'json', 'timeout'],
    0,
    ([data, severity, text, json], ctx) => {
      const message = logPayload(data, text, json);
      const level = severity ?? 'DEFAULT';
      if (typeof level !== 'string' || !LOG_SEVERITIES.includes(level))
        raiseError(
          'TypeError',
          `sys.log: severity must be one of ${LOG_SEVERITIES.join(', ')}, got ${JSON.stringify(level)}`,
        );
      ctx.log({ severity: level, message });
      return null;
    },
    true,
  ],
  'sys.sleep': [
    ['seconds'],
    1,
    async ([seconds], ctx) => {
      if (seconds === undefined || !isNumber(seconds))
        raiseError('TypeError', `sys.sleep: seconds must be a number, got ${typeName(seconds ?? null)}`);
      if (Number(seconds) < 0 || Number(seconds) > ONE_YEAR_SECONDS)
        raiseError(
          'ValueError',
          `sys.sleep: seconds must be between 0 and ${ONE_YEAR_SECONDS} (one year), got ${seconds}`,
        );
      await ctx.clock.sleep(Number(seconds));
      return null;
    },
    true,
  ],
  'uuid.generate': [[], 0, (_args, ctx) => ctx.randomUuid()],
});
