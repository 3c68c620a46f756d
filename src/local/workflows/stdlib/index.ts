import type { WfValue } from '../values';
import { collectionFunctions } from './collections';
import { conversionFunctions } from './conversions';
import { encodingFunctions } from './encoding';
import { eventFunctions } from './events';
import { hashFunctions } from './hash';
import { mathFunctions } from './math';
import { regexFunctions } from './regex';
import type { StdlibFunction } from './registry';
import { retryConstants, retryFunctions } from './retry-policies';
import { systemFunctions } from './system';
import { textFunctions } from './text';
import { timeFunctions } from './time';

export type { StdlibContext, StdlibFunction } from './registry';

/** The whole standard library, by qualified name. */
export const STDLIB_FUNCTIONS: ReadonlyMap<string, StdlibFunction> = new Map(
  [
    ...conversionFunctions,
    ...collectionFunctions,
    ...encodingFunctions,
    ...textFunctions,
    ...regexFunctions,
    ...hashFunctions,
    ...mathFunctions,
    ...systemFunctions,
    ...timeFunctions,
    ...eventFunctions,
    ...retryFunctions,
  ].map((f) => [f.name, f]),
);

export const STDLIB_CONSTANTS: ReadonlyMap<string, () => WfValue> = new Map(Object.entries(retryConstants()));

/** Top-level module names (`sys`, `http`, ...) an unbound identifier may start with. */
export const STDLIB_MODULES = new Set(
  [...STDLIB_FUNCTIONS.keys(), ...STDLIB_CONSTANTS.keys()]
    .filter((n) => n.includes('.'))
    .map((n) => n.split('.')[0]),
);
