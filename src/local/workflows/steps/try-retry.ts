import type { StepBody } from '../definition';
import { raiseError, WorkflowRaise } from '../errors';
import { backoffDelaySeconds, toRetryPolicy, type RetryPolicy } from '../retry-policy';
import type { Scope } from '../scope';
import { typeName } from '../values';
import type { Completion, Frame, Runner } from '../runtime';

/**
 * try / retry / except (https://cloud.google.com/workflows/docs/reference/syntax/catching-errors,
 * .../retrying): the try block is re-run while the predicate accepts the error and retries remain,
 * sleeping per the backoff; then the error goes to `except` (bound to `as`) or propagates.
 */
export async function executeTry(
  body: StepBody,
  runner: Runner,
  scope: Scope,
  frame: Frame,
): Promise<Completion> {
  let policy: RetryPolicy | undefined;
  if (body.retry !== undefined) policy = toRetryPolicy(await runner.evaluate(body.retry, scope, frame));
  for (let retry = 0; ; retry++) {
    try {
      return await runner.executeSteps(body.try ?? [], scope, frame);
    } catch (e) {
      if (!(e instanceof WorkflowRaise)) throw e;
      if (policy && retry < policy.maxRetries) {
        const verdict = await runner.callFunction(policy.predicate, [e.value], frame);
        if (typeof verdict !== 'boolean')
          raiseError(
            'TypeError',
            `retry predicate '${policy.predicate}' must return a boolean, got ${typeName(verdict)}`,
          );
        if (verdict) {
          await runner.clock.sleep(backoffDelaySeconds(policy, retry));
          continue;
        }
      }
      if (!body.except) throw e;
      if (body.except.as) scope.set(body.except.as, e.value);
      return runner.executeSteps(body.except.steps, scope, frame);
    }
  }
}
