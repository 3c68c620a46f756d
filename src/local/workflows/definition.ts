/**
 * A parsed workflow: subworkflows (main first) and their steps, with source lines kept for errors.
 * Values in a definition are raw YAML/JSON data (`RawValue`); strings of the form `${...}` are
 * evaluated when the step runs.
 */
export type RawValue = null | boolean | bigint | number | string | RawValue[] | { [key: string]: RawValue };
export type RawMap = { [key: string]: RawValue };

export interface WorkflowDefinition {
  file: string;
  subworkflows: Map<string, SubworkflowDef>;
}

export interface ParamDef {
  name: string;
  hasDefault: boolean;
  default?: RawValue;
}

export interface SubworkflowDef {
  name: string;
  params: ParamDef[];
  steps: Step[];
  line?: number;
}

/** The parts a step (or a switch condition) may have; the executor runs them in this order. */
export interface StepBody {
  assign?: { target: string; value: RawValue }[];
  call?: string;
  /** Named arguments, or a list of positional ones (matched to the parameters in order). */
  args?: RawMap | RawValue[];
  result?: string;
  for?: ForDef;
  parallel?: ParallelDef;
  try?: Step[];
  retry?: RawValue;
  except?: { as?: string; steps: Step[] };
  steps?: Step[];
  switch?: Condition[];
  raise?: RawValue;
  return?: RawValue;
  hasReturn?: boolean;
  next?: string;
}

export interface Step extends StepBody {
  name: string;
  line?: number;
}

export interface Condition extends StepBody {
  condition: RawValue;
  line?: number;
}

export interface ForDef {
  value: string;
  index?: string;
  in?: RawValue;
  range?: RawValue;
  steps: Step[];
}

export interface ParallelDef {
  shared: string[];
  concurrencyLimit?: RawValue;
  exceptionPolicy?: string;
  branches?: { name: string; line?: number; steps: Step[] }[];
  for?: ForDef;
}

export const STEP_KEYWORDS = [
  'assign',
  'call',
  'args',
  'result',
  'for',
  'parallel',
  'try',
  'retry',
  'except',
  'steps',
  'switch',
  'raise',
  'return',
  'next',
];
