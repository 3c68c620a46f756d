import { raiseError } from '../errors';
import { isMap, isNumber, typeName, type WfValue } from '../values';
import { CALLBACK_METHODS } from '../callbacks';
import { defineFunctions } from './registry';

/**
 * events.create_callback_endpoint and events.await_callback
 * (https://cloud.google.com/workflows/docs/reference/stdlib/events/create_callback_endpoint,
 * .../events/await_callback): endpoints are served on loopback for the execution (callbacks.ts).
 */
const DEFAULT_TIMEOUT_SECONDS = 43_200;

export const eventFunctions = defineFunctions({
  'events.create_callback_endpoint': [
    ['http_callback_method'],
    0,
    async ([m], ctx): Promise<WfValue> => {
      const method = m ?? 'POST';
      if (typeof method !== 'string')
        raiseError(
          'TypeError',
          `events.create_callback_endpoint: http_callback_method must be a string, got ${typeName(method)}`,
        );
      if (!CALLBACK_METHODS.includes(method))
        raiseError(
          'ValueError',
          `events.create_callback_endpoint: http_callback_method must be one of ${CALLBACK_METHODS.join(', ')}`,
        );
      return new Map([['url', await ctx.callbacks().create(method)]]);
    },
    true,
  ],
  'events.await_callback': [
    ['callback', 'timeout'],
    1,
    async ([cb, timeout], ctx) => {
      const url = cb !== undefined && isMap(cb) ? cb.get('url') : undefined;
      if (typeof url !== 'string')
        raiseError(
          'TypeError',
          'events.await_callback: callback must be the map events.create_callback_endpoint returned',
        );
      if (timeout !== undefined && timeout !== null && (!isNumber(timeout) || Number(timeout) < 0))
        raiseError(
          'TypeError',
          `events.await_callback: timeout must be a non-negative number, got ${typeName(timeout)}`,
        );
      return ctx
        .callbacks()
        .await(url, timeout === undefined || timeout === null ? DEFAULT_TIMEOUT_SECONDS : Number(timeout));
    },
    true,
  ],
});
