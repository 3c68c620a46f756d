import type { WorkflowClock } from './clock';
import type { RawValue, Step, StepBody, SubworkflowDef, WorkflowDefinition } from './definition';
import { CallableError, LocalEnvironmentError, raiseError, WorkflowRaise, type StepLocation } from './errors';
import { evaluateExpr } from './expression/evaluator';
import { evaluateRaw } from './expression/raw-values';
import { compileExpression, compileTarget } from './expression/cache';
import { NORMAL, type Completion, type Frame, type Runner } from './runtime';
import { Scope } from './scope';
import { STDLIB_CONSTANTS, STDLIB_FUNCTIONS, type StdlibContext } from './stdlib';
import { bindCallArguments } from './stdlib/registry';
import { assignPath } from './steps/assign';
import { executeFor } from './steps/for-loop';
import { executeParallel } from './steps/parallel';
import { executeTry } from './steps/try-retry';
import { cloneValue, fromJs, toJs, typeName, WfFunctionRef, type WfValue } from './values';

/**
 * A function the caller binds to a name a workflow `call`s: a connector
 * (`googleapis.pubsub.v1.projects.topics.publish`) or `http.get`... It receives the step's `args`
 * as plain JSON-like data and returns the result the same way; to raise a specific workflow error
 * (HttpError with a code...) it throws a CallableError.
 */
export type Callable = (args: Record<string, unknown>, context: CallableContext) => unknown;

export interface CallableContext {
  name: string;
  step: string;
  subworkflow: string;
  clock: WorkflowClock;
  env: Record<string, string | undefined>;
}

export interface InterpreterOptions {
  callables: Record<string, Callable>;
  stdlib: StdlibContext;
  /** Depth of nested subworkflow calls before a RecursionError. */
  maxCallDepth: number;
  /** Steps an execution may run before a ResourceLimitError (guards against endless loops). */
  maxSteps: number;
}

export class Interpreter implements Runner {
  private stepsRun = 0;
  readonly clock: WorkflowClock;
  private currentStep = new WeakMap<Frame, { step: string }>();

  constructor(
    private definition: WorkflowDefinition,
    private options: InterpreterOptions,
  ) {
    this.clock = options.stdlib.clock;
  }

  /** Runs `main` with the execution argument and returns what it returns. */
  async run(argument: WfValue): Promise<WfValue> {
    const main = this.definition.subworkflows.get('main');
    if (!main) raiseError('SystemError', 'the workflow has no main');
    const positional = main.params.length ? [argument] : [];
    return this.invoke(main, positional, new Map(), 0);
  }

  private async invoke(
    sub: SubworkflowDef,
    positional: WfValue[],
    named: Map<string, WfValue>,
    depth: number,
    atomic = false,
  ): Promise<WfValue> {
    if (depth >= this.options.maxCallDepth)
      raiseError(
        'RecursionError',
        `maximum call depth ${this.options.maxCallDepth} exceeded calling '${sub.name}'`,
      );
    if (positional.length > sub.params.length)
      raiseError(
        'TypeError',
        `'${sub.name}' takes ${sub.params.length} argument(s), got ${positional.length}`,
      );
    const frame: Frame = { subworkflow: sub.name, depth, atomic };
    const scope = new Scope();
    for (const name of named.keys())
      if (!sub.params.some((p) => p.name === name))
        raiseError('TypeError', `'${sub.name}' has no parameter '${name}'`);
    for (let i = 0; i < sub.params.length; i++) {
      const p = sub.params[i];
      if (i < positional.length) scope.declare(p.name, cloneValue(positional[i]));
      else if (named.has(p.name)) scope.declare(p.name, cloneValue(named.get(p.name) as WfValue));
      else if (p.hasDefault)
        scope.declare(p.name, await this.evaluate(p.default ?? null, new Scope(), frame));
      else raiseError('TypeError', `'${sub.name}' is missing the argument '${p.name}'`);
    }
    const c = await this.executeSteps(sub.steps, scope, frame);
    switch (c.kind) {
      case 'return':
        return c.value;
      case 'normal':
      case 'end':
        return null;
      case 'jump':
        raiseError('SystemError', `next: '${c.target}' is not a step of '${sub.name}'`);
        break;
      default:
        raiseError('SystemError', `'next: ${c.kind}' outside a for loop in '${sub.name}'`);
    }
  }

  async executeSteps(steps: Step[], scope: Scope, frame: Frame): Promise<Completion> {
    let i = 0;
    while (i < steps.length) {
      const step = steps[i];
      const c = await this.executeStep(step, scope, frame);
      if (c.kind === 'normal') i++;
      else if (c.kind === 'jump') {
        const target = steps.findIndex((s) => s.name === c.target);
        if (target < 0) return c;
        i = target;
      } else return c;
    }
    return NORMAL;
  }

  private async executeStep(step: Step, scope: Scope, frame: Frame): Promise<Completion> {
    if (++this.stepsRun > this.options.maxSteps)
      raiseError('ResourceLimitError', `more than ${this.options.maxSteps} steps executed`);
    const location: StepLocation = {
      file: this.definition.file,
      subworkflow: frame.subworkflow,
      step: step.name,
      line: step.line,
    };
    try {
      return await this.executeBody(step, step.name, scope, frame);
    } catch (e) {
      if ((e instanceof WorkflowRaise || e instanceof LocalEnvironmentError) && !e.location)
        e.location = location;
      throw e;
    }
  }

  private async executeBody(
    body: StepBody,
    stepName: string,
    scope: Scope,
    frame: Frame,
  ): Promise<Completion> {
    if (body.assign) {
      const assign = body.assign;
      await this.withAssignLock(frame, async (f) => {
        for (const { target, value } of assign) {
          const v = cloneValue(await this.evaluate(value, scope, f));
          const t = compileTarget(target);
          const keys: WfValue[] = [];
          for (const acc of t.path)
            keys.push(acc.kind === 'key' ? acc.key : await this.evalExpr(acc.expr, scope, f));
          await assignPath(scope, t.root, keys, v);
        }
      });
    }
    if (body.call !== undefined) {
      const named = new Map<string, WfValue>();
      let positional: WfValue[] | undefined;
      if (Array.isArray(body.args)) {
        positional = [];
        for (const raw of body.args) positional.push(await this.evaluate(raw, scope, frame));
      } else
        for (const [k, raw] of Object.entries(body.args ?? {}))
          named.set(k, await this.evaluate(raw, scope, frame));
      const result = await this.callStep(body.call, named, stepName, frame, positional);
      if (body.result) scope.set(body.result, cloneValue(result));
    }
    let c: Completion = NORMAL;
    if (body.for) c = await executeFor(body.for, this, scope, frame);
    else if (body.parallel) c = await executeParallel(body.parallel, stepName, this, scope, frame);
    else if (body.try) c = await executeTry(body, this, scope, frame);
    else if (body.steps) c = await this.executeSteps(body.steps, scope, frame);
    if (c.kind !== 'normal') return c;
    if (body.switch) {
      // The first condition that is true runs; with none, execution goes on (or to the step's next).
      for (const cond of body.switch) {
        const v = await this.evaluate(cond.condition, scope, frame);
        if (typeof v !== 'boolean')
          raiseError('TypeError', `switch condition must be a boolean, got ${typeName(v)}`);
        if (v) return this.executeBody(cond, stepName, scope, frame);
      }
    }
    if (body.raise !== undefined)
      throw new WorkflowRaise(cloneValue(await this.evaluate(body.raise, scope, frame)));
    if (body.hasReturn)
      return { kind: 'return', value: cloneValue(await this.evaluate(body.return ?? null, scope, frame)) };
    if (body.next === 'end') return { kind: 'end' };
    if (body.next === 'break') return { kind: 'break' };
    if (body.next === 'continue') return { kind: 'continue' };
    if (body.next !== undefined) return { kind: 'jump', target: body.next };
    return NORMAL;
  }

  /**
   * Runs an assign step as one atomic read-evaluate-write, so `counter: ${counter + 1}` in
   * concurrent parallel branches never loses an update. Re-entrant for subworkflows called from
   * the assignment's expressions.
   */
  private async withAssignLock(frame: Frame, fn: (frame: Frame) => Promise<void>): Promise<void> {
    if (frame.atomic) return fn(frame);
    const previous = this.assignLockTail;
    let release!: () => void;
    this.assignLockTail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      await fn({ ...frame, atomic: true });
    } finally {
      release();
    }
  }
  private assignLockTail: Promise<void> = Promise.resolve();

  /** Evaluates a raw definition value: `${...}` strings are expressions; maps may have `${...}` keys. */
  async evaluate(raw: RawValue | undefined, scope: Scope, frame: Frame): Promise<WfValue> {
    return evaluateRaw(raw, (source) => this.evalExpr(compileExpression(source), scope, frame));
  }

  private evalExpr(expr: ReturnType<typeof compileExpression>, scope: Scope, frame: Frame): Promise<WfValue> {
    return evaluateExpr(expr, {
      scope,
      resolveName: (name) => this.resolveName(name),
      call: (name, args) => this.callFunction(name, args, frame),
    });
  }

  private resolveName(name: string): WfValue | undefined {
    const constant = STDLIB_CONSTANTS.get(name);
    if (constant) return constant();
    if (
      this.definition.subworkflows.has(name) ||
      STDLIB_FUNCTIONS.has(name) ||
      name in this.options.callables
    )
      return new WfFunctionRef(name);
    return undefined;
  }

  /** A function called from an expression: positional arguments, no blocking calls. */
  async callFunction(name: string, args: WfValue[], frame: Frame): Promise<WfValue> {
    const sub = this.definition.subworkflows.get(name);
    if (sub) return this.invoke(sub, args, new Map(), frame.depth + 1, frame.atomic);
    const fn = STDLIB_FUNCTIONS.get(name);
    if (fn && !(name in this.options.callables)) {
      if (fn.blocking)
        raiseError('TypeError', `${name} is a blocking call; use it in a call step, not an expression`);
      if (args.length < fn.required || args.length > fn.params.length)
        raiseError(
          'TypeError',
          `${name} takes ${fn.required}..${fn.params.length} arguments, got ${args.length}`,
        );
      return fn.fn(args, this.options.stdlib);
    }
    if (name in this.options.callables)
      raiseError('TypeError', `${name} is a blocking call; use it in a call step, not an expression`);
    raiseError('KeyError', `function '${name}' is not defined`);
  }

  /**
   * A `call` step: named `args` (or a positional list); subworkflows, bound callables, then the
   * standard library.
   */
  private async callStep(
    name: string,
    named: Map<string, WfValue>,
    step: string,
    frame: Frame,
    positional?: WfValue[],
  ): Promise<WfValue> {
    const sub = this.definition.subworkflows.get(name);
    if (sub) return this.invoke(sub, positional ?? [], named, frame.depth + 1);
    const callable = this.options.callables[name] as Callable | undefined;
    if (callable && positional)
      raiseError('TypeError', `${name}: pass its arguments by name (args: {url: ...}), not as a list`);
    if (callable) {
      const context: CallableContext = {
        name,
        step,
        subworkflow: frame.subworkflow,
        clock: this.clock,
        env: this.options.stdlib.env,
      };
      try {
        return fromJs(await callable(toJs(new Map(named)) as Record<string, unknown>, context));
      } catch (e) {
        if (e instanceof CallableError) throw new WorkflowRaise(fromJs(e.error));
        if (e instanceof WorkflowRaise || e instanceof LocalEnvironmentError) throw e;
        raiseError('SystemError', `${name} failed: ${(e as Error).message}`);
      }
    }
    const fn = STDLIB_FUNCTIONS.get(name);
    if (fn) return fn.fn(bindCallArguments(fn, named, positional), this.options.stdlib);
    if (name.includes('.'))
      throw new LocalEnvironmentError(
        `'${name}' has no local binding: the engine runs the standard library and the callables its caller binds (see src/local/workflows/README.md)`,
      );
    raiseError('SystemError', `'${name}' is not a subworkflow or a function`);
  }
}
