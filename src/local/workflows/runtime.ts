import type { Step } from './definition';
import type { RawValue } from './definition';
import type { Scope } from './scope';
import type { WorkflowClock } from './clock';
import type { WfValue } from './values';

/** How a list of steps finished (https://cloud.google.com/workflows/docs/reference/syntax/jumps). */
export type Completion =
  | { kind: 'normal' }
  | { kind: 'jump'; target: string }
  | { kind: 'return'; value: WfValue }
  | { kind: 'end' }
  | { kind: 'break' }
  | { kind: 'continue' };

export const NORMAL: Completion = { kind: 'normal' };

/** The subworkflow invocation a step runs in. */
export interface Frame {
  subworkflow: string;
  depth: number;
  /** Inside an assign step that holds the assignment lock (see Interpreter.withAssignLock). */
  atomic?: boolean;
}

/** What the step executors (for, parallel, try, assign) need from the interpreter. */
export interface Runner {
  readonly clock: WorkflowClock;
  executeSteps(steps: Step[], scope: Scope, frame: Frame): Promise<Completion>;
  evaluate(raw: RawValue | undefined, scope: Scope, frame: Frame): Promise<WfValue>;
  callFunction(name: string, args: WfValue[], frame: Frame): Promise<WfValue>;
}
