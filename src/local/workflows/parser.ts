import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import {
  STEP_KEYWORDS,
  type Condition,
  type ForDef,
  type ParallelDef,
  type ParamDef,
  type RawMap,
  type RawValue,
  type Step,
  type StepBody,
  type SubworkflowDef,
  type WorkflowDefinition,
} from './definition';
import { WorkflowSyntaxError, type ValidationIssue } from './errors';
import { quoteFlowExpressions } from './flow-expressions';

/**
 * Parses a workflow file (YAML or JSON; JSON is read as YAML 1.2) into a definition, keeping the
 * line of every step. Integers stay integers (`intAsBigInt`), so `1` and `1.0` differ as in Workflows.
 * Structural problems (a step that is not a one-key map, an unknown keyword...) are collected and
 * thrown together as a WorkflowSyntaxError naming the file, line and step.
 */
export interface ParsedSource {
  definition: WorkflowDefinition;
  /** The plain-JSON view of the file, for JSON-schema validation. */
  json: unknown;
}

export function parseWorkflowSource(source: string, file: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(quoteFlowExpressions(source), {
    lineCounter,
    intAsBigInt: true,
    uniqueKeys: true,
    prettyErrors: true,
  });
  const issues: ValidationIssue[] = [];
  for (const e of doc.errors.slice(0, 3))
    issues.push({ file, line: e.linePos?.[0].line, message: `invalid YAML: ${e.message.split('\n')[0]}` });
  if (issues.length) throw new WorkflowSyntaxError(issues);

  const lines = new WeakMap<object, number>();
  const toRaw = (node: unknown): RawValue => {
    if (isAlias(node)) return toRaw(node.resolve(doc));
    const n = node as Node | null;
    const line = n?.range ? lineCounter.linePos(n.range[0]).line : undefined;
    if (isMap(n)) {
      const out: RawMap = {};
      for (const pair of n.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        out[key] = toRaw(pair.value);
      }
      if (line) lines.set(out, line);
      return out;
    }
    if (isSeq(n)) {
      const out = n.items.map(toRaw);
      if (line) lines.set(out, line);
      return out;
    }
    if (isScalar(n)) {
      const v = n.value;
      if (v === null || v === undefined) return null;
      if (typeof v === 'boolean' || typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string')
        return v;
      return String(v);
    }
    return null;
  };
  const raw = toRaw(doc.contents);
  const builder = new DefinitionBuilder(file, lines, issues);
  const definition = builder.build(raw);
  if (issues.length) throw new WorkflowSyntaxError(issues);
  const json = JSON.parse(JSON.stringify(raw, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  return { definition, json };
}

const isRawMap = (v: RawValue | undefined): v is RawMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

class DefinitionBuilder {
  constructor(
    private file: string,
    private lines: WeakMap<object, number>,
    private issues: ValidationIssue[],
  ) {}

  private issue(message: string, line?: number, step?: string): void {
    this.issues.push({ file: this.file, line, step, message });
  }
  private lineOf(v: RawValue | undefined): number | undefined {
    return typeof v === 'object' && v !== null ? this.lines.get(v) : undefined;
  }

  build(raw: RawValue): WorkflowDefinition {
    const subworkflows = new Map<string, SubworkflowDef>();
    if (Array.isArray(raw)) {
      subworkflows.set('main', {
        name: 'main',
        params: [],
        steps: this.steps(raw, 'main'),
        line: this.lineOf(raw),
      });
    } else if (isRawMap(raw)) {
      if (!('main' in raw)) this.issue("a workflow with subworkflows needs a 'main' block", this.lineOf(raw));
      for (const [name, body] of Object.entries(raw)) {
        if (!isRawMap(body)) {
          this.issue(`subworkflow '${name}' must be a map with 'params' and 'steps'`, this.lineOf(raw));
          continue;
        }
        for (const key of Object.keys(body))
          if (key !== 'params' && key !== 'steps')
            this.issue(`subworkflow '${name}': unknown key '${key}'`, this.lineOf(body));
        if (!Array.isArray(body.steps))
          this.issue(`subworkflow '${name}' has no 'steps' list`, this.lineOf(body));
        subworkflows.set(name, {
          name,
          params: this.params(body.params, name, this.lineOf(body)),
          steps: Array.isArray(body.steps) ? this.steps(body.steps, name) : [],
          line: this.lineOf(body),
        });
      }
    } else {
      this.issue('a workflow is a list of steps or a map with a main block');
    }
    return { file: this.file, subworkflows };
  }

  /** `params: [a, b: 5]`: a bare name, or a one-key map giving the default value. */
  private params(raw: RawValue | undefined, owner: string, line?: number): ParamDef[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      this.issue(`subworkflow '${owner}': params must be a list`, line);
      return [];
    }
    return raw.flatMap((p): ParamDef[] => {
      if (typeof p === 'string') return [{ name: p, hasDefault: false }];
      if (isRawMap(p) && Object.keys(p).length === 1) {
        const [name, value] = Object.entries(p)[0];
        return [{ name, hasDefault: true, default: value }];
      }
      this.issue(`subworkflow '${owner}': a param is a name or 'name: default'`, line);
      return [];
    });
  }

  steps(raw: RawValue[], where: string): Step[] {
    return raw.flatMap((entry): Step[] => {
      if (!isRawMap(entry) || Object.keys(entry).length !== 1) {
        this.issue(
          `in ${where}: each step is a map with exactly one key, the step name`,
          this.lineOf(entry) ?? this.lineOf(raw),
        );
        return [];
      }
      const [name, body] = Object.entries(entry)[0];
      const line = this.lineOf(body) ?? this.lineOf(entry);
      if (!isRawMap(body)) {
        this.issue('a step body must be a map', line, name);
        return [];
      }
      return [{ name, line, ...this.body(body, name, line) }];
    });
  }

  private stepList(v: RawValue | undefined, step: string, key: string, line?: number): Step[] {
    if (!Array.isArray(v)) {
      this.issue(`'${key}' must be a list of steps`, line, step);
      return [];
    }
    return this.steps(v, `step '${step}'`);
  }

  private body(raw: RawMap, step: string, line?: number, allowCondition = false): StepBody {
    const out: StepBody = {};
    for (const key of Object.keys(raw))
      if (!STEP_KEYWORDS.includes(key) && !(allowCondition && key === 'condition'))
        this.issue(`unknown keyword '${key}'`, line, step);
    if ('assign' in raw) {
      if (!Array.isArray(raw.assign)) this.issue("'assign' must be a list of one-key maps", line, step);
      else
        out.assign = raw.assign.flatMap((a) => {
          if (!isRawMap(a) || Object.keys(a).length !== 1) {
            this.issue("each 'assign' item is a one-key map 'name: value'", line, step);
            return [];
          }
          const [target, value] = Object.entries(a)[0];
          return [{ target, value }];
        });
    }
    if ('call' in raw) {
      if (typeof raw.call !== 'string') this.issue("'call' must name a function or subworkflow", line, step);
      else out.call = raw.call;
      if (raw.args !== undefined) {
        // The docs also pass arguments positionally: `args: [${myVar}, "ERROR"]` (stdlib/sys/log).
        if (!isRawMap(raw.args) && !Array.isArray(raw.args))
          this.issue("'args' must be a map of named arguments or a list of positional ones", line, step);
        else out.args = raw.args;
      }
      if (raw.result !== undefined) {
        if (typeof raw.result !== 'string') this.issue("'result' must be a variable name", line, step);
        else out.result = raw.result;
      }
    } else if ('args' in raw || 'result' in raw) this.issue("'args' and 'result' need 'call'", line, step);
    if ('for' in raw) out.for = this.forDef(raw.for, step, line);
    if ('parallel' in raw) out.parallel = this.parallelDef(raw.parallel, step, line);
    if ('try' in raw) {
      const t = raw.try;
      // `try` holds either a steps block or a single step body (for example a call).
      if (isRawMap(t) && Array.isArray(t.steps) && Object.keys(t).length === 1)
        out.try = this.steps(t.steps, `step '${step}'`);
      else if (isRawMap(t)) out.try = [{ name: step, line, ...this.body(t, step, line) }];
      else this.issue("'try' must be a step or a 'steps' block", line, step);
      if ('retry' in raw) out.retry = raw.retry;
      if ('except' in raw) {
        const e = raw.except;
        if (!isRawMap(e) || !Array.isArray(e.steps))
          this.issue("'except' needs 'as' and 'steps'", line, step);
        else {
          if (e.as !== undefined && typeof e.as !== 'string')
            this.issue("'except.as' must be a variable name", line, step);
          out.except = {
            as: typeof e.as === 'string' ? e.as : undefined,
            steps: this.steps(e.steps, `step '${step}'`),
          };
        }
      }
    } else if ('retry' in raw || 'except' in raw) this.issue("'retry' and 'except' need 'try'", line, step);
    if ('steps' in raw) out.steps = this.stepList(raw.steps, step, 'steps', line);
    if ('switch' in raw) {
      if (!Array.isArray(raw.switch)) this.issue("'switch' must be a list of conditions", line, step);
      else
        out.switch = raw.switch.flatMap((c): Condition[] => {
          const cl = this.lineOf(c) ?? line;
          if (!isRawMap(c) || !('condition' in c)) {
            this.issue("each switch item needs a 'condition'", cl, step);
            return [];
          }
          return [{ condition: c.condition, line: cl, ...this.body(c, step, cl, true) }];
        });
    }
    if ('raise' in raw) out.raise = raw.raise;
    if ('return' in raw) {
      out.return = raw.return;
      out.hasReturn = true;
    }
    if ('next' in raw) {
      if (typeof raw.next !== 'string')
        this.issue("'next' must be a step name, end, break or continue", line, step);
      else out.next = raw.next;
    }
    return out;
  }

  private forDef(raw: RawValue, step: string, line?: number): ForDef | undefined {
    if (!isRawMap(raw)) {
      this.issue("'for' must be a map", line, step);
      return undefined;
    }
    for (const key of Object.keys(raw))
      if (!['value', 'index', 'in', 'range', 'steps'].includes(key))
        this.issue(`for: unknown key '${key}'`, line, step);
    if (typeof raw.value !== 'string') this.issue("for: 'value' must name the loop variable", line, step);
    if (raw.index !== undefined && typeof raw.index !== 'string')
      this.issue("for: 'index' must be a variable name", line, step);
    if ('in' in raw === 'range' in raw) this.issue("for: give exactly one of 'in' and 'range'", line, step);
    return {
      value: String(raw.value),
      index: typeof raw.index === 'string' ? raw.index : undefined,
      in: raw.in,
      range: raw.range,
      steps: this.stepList(raw.steps, step, 'for.steps', line),
    };
  }

  private parallelDef(raw: RawValue, step: string, line?: number): ParallelDef | undefined {
    if (!isRawMap(raw)) {
      this.issue("'parallel' must be a map", line, step);
      return undefined;
    }
    for (const key of Object.keys(raw))
      if (!['shared', 'concurrency_limit', 'exception_policy', 'branches', 'for'].includes(key))
        this.issue(`parallel: unknown key '${key}'`, line, step);
    const shared = raw.shared ?? [];
    if (!Array.isArray(shared) || shared.some((s) => typeof s !== 'string'))
      this.issue("parallel: 'shared' must be a list of variable names", line, step);
    if ('branches' in raw === 'for' in raw)
      this.issue("parallel: give exactly one of 'branches' and 'for'", line, step);
    if (raw.exception_policy !== undefined && raw.exception_policy !== 'continueAll')
      this.issue("parallel: the only exception_policy is 'continueAll'", line, step);
    const out: ParallelDef = {
      shared: Array.isArray(shared) ? shared.filter((s): s is string => typeof s === 'string') : [],
      concurrencyLimit: raw.concurrency_limit,
      exceptionPolicy: typeof raw.exception_policy === 'string' ? raw.exception_policy : undefined,
    };
    if (Array.isArray(raw.branches)) {
      out.branches = raw.branches.flatMap((b) => {
        const bl = this.lineOf(b) ?? line;
        if (!isRawMap(b) || Object.keys(b).length !== 1) {
          this.issue('each branch is a one-key map: the branch name', bl, step);
          return [];
        }
        const [name, body] = Object.entries(b)[0];
        if (!isRawMap(body) || !Array.isArray(body.steps)) {
          this.issue(`branch '${name}' needs 'steps'`, bl, step);
          return [];
        }
        return [{ name, line: this.lineOf(body) ?? bl, steps: this.steps(body.steps, `branch '${name}'`) }];
      });
    } else if ('branches' in raw) this.issue("parallel: 'branches' must be a list", line, step);
    if ('for' in raw) out.for = this.forDef(raw.for, step, line);
    return out;
  }
}
