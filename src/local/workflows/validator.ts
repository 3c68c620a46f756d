import type { RawValue, Step, StepBody, SubworkflowDef, WorkflowDefinition } from './definition';
import { WorkflowSyntaxError, type ValidationIssue } from './errors';
import { dottedName, type Expr } from './expression/ast';
import { compileExpression, compileTarget, expressionSource } from './expression/cache';
import { ExpressionSyntaxError } from './expression/tokenizer';
import { parseWorkflowSource } from './parser';
import { validateAgainstSchema } from './schema-validator';
import { STDLIB_CONSTANTS, STDLIB_FUNCTIONS } from './stdlib';

/**
 * Deploy-time checks, as Cloud Workflows makes when a workflow is deployed:
 * - `next` targets exist (in the same steps list or an enclosing one; not across a parallel
 *   branch), `break`/`continue` are inside a `for`;
 * - `call` names a subworkflow, a standard-library function or a qualified connector/http name;
 *   expression calls name known functions;
 * - every `${...}` expression and assignment target parses;
 * - inside `parallel`, only `shared` variables of the parent scope are assigned
 *   (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps, "Shared variables").
 */
/** Names in the standard library's own modules (http.* is bound by the caller, so not listed). */
const STDLIB_MODULE_CALL = /^(sys|text|json|base64|math|map|list|time|uuid|retry|hash|events)\./;

export function checkDefinition(def: WorkflowDefinition): ValidationIssue[] {
  return new Checker(def).run();
}

export interface ValidateOptions {
  /** Also validate against the official JSON schema (default true). */
  schema?: boolean;
}

/** Parses and checks a workflow source; returns every problem found (empty when valid). */
export function validateWorkflowSource(
  source: string,
  file: string,
  options: ValidateOptions = {},
): ValidationIssue[] {
  let parsed;
  try {
    parsed = parseWorkflowSource(source, file);
  } catch (e) {
    if (e instanceof WorkflowSyntaxError) return e.issues;
    throw e;
  }
  const issues = checkDefinition(parsed.definition);
  if (options.schema !== false) {
    const lines = new Map<string, number>();
    const walk = (steps: Step[]): void =>
      steps.forEach((s) => {
        if (s.line && !lines.has(s.name)) lines.set(s.name, s.line);
        for (const child of childLists(s)) walk(child.steps);
      });
    for (const sub of parsed.definition.subworkflows.values()) walk(sub.steps);
    issues.push(...validateAgainstSchema(parsed.json, file, lines));
  }
  return issues;
}

interface ChildList {
  steps: Step[];
  /** A for body: break/continue allowed. */
  loop?: boolean;
  /** A parallel branch/iteration: jumps cannot leave it. */
  parallel?: boolean;
}

function childLists(body: StepBody): ChildList[] {
  const out: ChildList[] = [];
  if (body.for) out.push({ steps: body.for.steps, loop: true });
  if (body.parallel?.branches)
    for (const b of body.parallel.branches) out.push({ steps: b.steps, parallel: true });
  if (body.parallel?.for) out.push({ steps: body.parallel.for.steps, parallel: true, loop: true });
  if (body.try) out.push({ steps: body.try });
  if (body.except) out.push({ steps: body.except.steps });
  if (body.steps) out.push({ steps: body.steps });
  for (const c of body.switch ?? []) out.push(...childLists(c));
  return out;
}

class Checker {
  private issues: ValidationIssue[] = [];
  private sub!: SubworkflowDef;
  constructor(private def: WorkflowDefinition) {}

  run(): ValidationIssue[] {
    for (const sub of this.def.subworkflows.values()) {
      this.sub = sub;
      for (const p of sub.params) if (p.hasDefault) this.value(p.default ?? null, undefined, sub.line);
      const outer = new Set(sub.params.map((p) => p.name));
      collectAssigned(sub.steps, outer, false);
      this.steps(sub.steps, [], false, outer, undefined);
    }
    return this.issues;
  }

  private issue(message: string, step?: string, line?: number): void {
    const where = this.sub.name === 'main' ? '' : `in subworkflow '${this.sub.name}': `;
    this.issues.push({ file: this.def.file, step, line, message: where + message });
  }

  /**
   * @param enclosing step-name sets of the enclosing lists a `next` may reach
   * @param inLoop whether break/continue are allowed
   * @param outer variables of the parent scope (for the parallel rule)
   * @param shared when inside a parallel step: its shared variables
   */
  private steps(
    steps: Step[],
    enclosing: Set<string>[],
    inLoop: boolean,
    outer: Set<string>,
    shared?: Set<string>,
  ): void {
    const names = new Set(steps.map((s) => s.name));
    const reachable = [names, ...enclosing];
    for (const s of steps) this.body(s, s.name, s.line, reachable, inLoop, outer, shared);
  }

  private body(
    b: StepBody,
    step: string,
    line: number | undefined,
    reachable: Set<string>[],
    inLoop: boolean,
    outer: Set<string>,
    shared?: Set<string>,
  ): void {
    const writes = (name: string, what: string): void => {
      if (shared && outer.has(name) && !shared.has(name))
        this.issue(
          `${what} '${name}' is assigned inside a parallel step but is not listed in 'shared'`,
          step,
          line,
        );
    };
    for (const a of b.assign ?? []) {
      try {
        const t = compileTarget(a.target);
        writes(t.root, 'variable');
        for (const acc of t.path) if (acc.kind === 'index') this.exprCalls(acc.expr, step, line);
      } catch (e) {
        this.syntax(e, step, line, `assignment target '${a.target}'`);
      }
      this.value(a.value, step, line);
    }
    if (b.call !== undefined) {
      const known = this.def.subworkflows.has(b.call) || STDLIB_FUNCTIONS.has(b.call) || b.call.includes('.');
      if (!known)
        this.issue(`call: '${b.call}' is not a subworkflow of this workflow or a known function`, step, line);
      else if (
        STDLIB_MODULE_CALL.test(b.call) &&
        !STDLIB_FUNCTIONS.has(b.call) &&
        !this.def.subworkflows.has(b.call)
      )
        this.issue(`call: '${b.call}' is not in the standard library`, step, line);
      const target = this.def.subworkflows.get(b.call);
      if (target && Array.isArray(b.args)) {
        if (b.args.length > target.params.length)
          this.issue(
            `call: '${b.call}' takes ${target.params.length} argument(s), got ${b.args.length}`,
            step,
            line,
          );
        for (const p of target.params.slice(b.args.length))
          if (!p.hasDefault) this.issue(`call: missing argument '${p.name}' for '${b.call}'`, step, line);
      } else if (target) {
        const args = (b.args ?? {}) as Record<string, unknown>;
        for (const k of Object.keys(args))
          if (!target.params.some((p) => p.name === k))
            this.issue(`call: '${b.call}' has no parameter '${k}'`, step, line);
        for (const p of target.params)
          if (!p.hasDefault && !(p.name in args))
            this.issue(`call: missing argument '${p.name}' for '${b.call}'`, step, line);
      }
      const fn = STDLIB_FUNCTIONS.get(b.call);
      if (fn && Array.isArray(b.args) && b.args.length > fn.params.length)
        this.issue(
          `call: ${b.call} takes at most ${fn.params.length} arguments, got ${b.args.length}`,
          step,
          line,
        );
      for (const v of Object.values(b.args ?? {})) this.value(v, step, line);
      if (b.result) writes(b.result, 'result variable');
    }
    for (const c of b.switch ?? []) {
      this.value(c.condition, step, c.line ?? line);
      this.body(c, step, c.line ?? line, reachable, inLoop, outer, shared);
    }
    if (b.raise !== undefined) this.value(b.raise, step, line);
    if (b.hasReturn) this.value(b.return ?? null, step, line);
    if (b.retry !== undefined) this.value(b.retry, step, line);
    if (b.except?.as) writes(b.except.as, 'except variable');
    if (b.next !== undefined) {
      if (b.next === 'break' || b.next === 'continue') {
        if (!inLoop) this.issue(`next: ${b.next} is only allowed inside a for loop`, step, line);
      } else if (b.next !== 'end' && !reachable.some((set) => set.has(b.next as string)))
        this.issue(`next: unknown step '${b.next}'`, step, line);
    }
    if (b.for) {
      this.value(b.for.in ?? b.for.range ?? null, step, line);
      const inner = new Set(outer);
      this.steps(b.for.steps, reachable, true, inner, shared);
    }
    if (b.parallel) {
      const p = b.parallel;
      const sharedSet = new Set(p.shared);
      for (const name of p.shared)
        if (!outer.has(name))
          this.issue(
            `parallel: shared variable '${name}' is not assigned before the parallel step`,
            step,
            line,
          );
      if (p.concurrencyLimit !== undefined) this.value(p.concurrencyLimit, step, line);
      for (const br of p.branches ?? []) this.steps(br.steps, [], false, outer, sharedSet);
      if (p.for) {
        this.value(p.for.in ?? p.for.range ?? null, step, line);
        this.steps(p.for.steps, [], true, outer, sharedSet);
      }
    }
    if (b.try) this.steps(b.try === undefined ? [] : b.try, reachable, inLoop, outer, shared);
    if (b.except) this.steps(b.except.steps, reachable, inLoop, outer, shared);
    if (b.steps) this.steps(b.steps, reachable, inLoop, outer, shared);
  }

  /** Parses every `${...}` in a raw value (keys included) and checks the functions it calls. */
  private value(v: RawValue, step: string | undefined, line: number | undefined): void {
    if (typeof v === 'string') {
      const src = expressionSource(v);
      if (src === undefined) return;
      try {
        this.exprCalls(compileExpression(src), step, line);
      } catch (e) {
        this.syntax(e, step, line, `expression '${v}'`);
      }
    } else if (Array.isArray(v)) v.forEach((x) => this.value(x, step, line));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        this.value(k, step, line);
        this.value(x, step, line);
      }
  }

  private exprCalls(e: Expr, step: string | undefined, line: number | undefined): void {
    const visit = (x: Expr): void => {
      switch (x.type) {
        case 'call': {
          const name = dottedName(x.callee);
          if (
            name !== undefined &&
            !name.includes('.') &&
            !this.def.subworkflows.has(name) &&
            !STDLIB_FUNCTIONS.has(name)
          )
            this.issue(
              `expression calls '${name}', which is not a subworkflow or a known function`,
              step,
              line,
            );
          if (
            name !== undefined &&
            name.includes('.') &&
            STDLIB_MODULE_CALL.test(name) &&
            !STDLIB_FUNCTIONS.has(name)
          )
            this.issue(`expression calls '${name}', which is not in the standard library`, step, line);
          visit(x.callee);
          x.args.forEach(visit);
          break;
        }
        case 'member':
          visit(x.object);
          break;
        case 'index':
          visit(x.object);
          visit(x.index);
          break;
        case 'unary':
          visit(x.operand);
          break;
        case 'binary':
          visit(x.left);
          visit(x.right);
          break;
        case 'list':
          x.items.forEach(visit);
          break;
        case 'map':
          x.entries.forEach((en) => {
            visit(en.key);
            visit(en.value);
          });
          break;
        default:
          break;
      }
    };
    visit(e);
    void STDLIB_CONSTANTS;
  }

  private syntax(e: unknown, step: string | undefined, line: number | undefined, what: string): void {
    if (e instanceof ExpressionSyntaxError) this.issue(`bad ${what}: ${e.message}`, step, line);
    else throw e;
  }
}

/** Names assigned in these steps outside any parallel step (the parent scope of a parallel step). */
function collectAssigned(steps: Step[], into: Set<string>, insideParallel: boolean): void {
  const visitBody = (b: StepBody): void => {
    if (!insideParallel) {
      for (const a of b.assign ?? []) {
        try {
          into.add(compileTarget(a.target).root);
        } catch {
          /* reported by the checker */
        }
      }
      if (b.result) into.add(b.result);
      if (b.except?.as) into.add(b.except.as);
    }
    for (const c of b.switch ?? []) visitBody(c);
    if (b.for) collectAssigned(b.for.steps, into, insideParallel);
    if (b.try) collectAssigned(b.try, into, insideParallel);
    if (b.except) collectAssigned(b.except.steps, into, insideParallel);
    if (b.steps) collectAssigned(b.steps, into, insideParallel);
  };
  steps.forEach(visitBody);
}
