import { raiseError } from './errors';
import type { WfValue } from './values';

/**
 * Variable scopes (https://cloud.google.com/workflows/docs/reference/syntax/variables,
 * .../iteration, .../parallel-steps):
 * - a subworkflow call gets a fresh frame: only its params are visible;
 * - a for-loop body is a child scope: assigning an existing outer variable updates it, a new
 *   variable stays local to the loop ("workflows-loop-scope" sample);
 * - a parallel branch or iteration is a child scope with a boundary: outer variables are
 *   readable, but only those listed in `shared` may be assigned ("workflows-parallel-shared-variables").
 */
export class Scope {
  private vars = new Map<string, WfValue>();

  constructor(
    readonly parent?: Scope,
    /** Set for a parallel branch: the outer variables it may assign. */
    readonly shared?: ReadonlySet<string>,
  ) {}

  private *chain(): Generator<Scope> {
    for (let s: Scope | undefined = this as Scope; s; s = s.parent) yield s;
  }

  has(name: string): boolean {
    return this.vars.has(name) || (this.parent?.has(name) ?? false);
  }

  get(name: string): WfValue {
    for (const s of this.chain()) if (s.vars.has(name)) return s.vars.get(name) as WfValue;
    raiseError('KeyError', `variable '${name}' is not defined`);
  }

  /** Binds a new variable here, shadowing nothing (loop variables, params, branch-local names). */
  declare(name: string, value: WfValue): void {
    this.vars.set(name, value);
  }

  /** Assigns: updates the nearest existing variable, or creates it in this scope. */
  set(name: string, value: WfValue): void {
    const crossed: Scope[] = [];
    for (const s of this.chain()) {
      if (s.vars.has(name)) {
        if (crossed.some((b) => !b.shared?.has(name)))
          raiseError(
            'SystemError',
            `variable '${name}' is not shared and cannot be assigned inside a parallel step`,
          );
        s.vars.set(name, value);
        return;
      }
      if (s.shared) crossed.push(s);
    }
    this.vars.set(name, value);
  }
}
