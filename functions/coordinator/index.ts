import * as functions from '@google-cloud/functions-framework';
import { coordinatorFromStack } from '../../src/runtime/stack-services';
import type { Coordinator } from '../../src/services/coordinator';

/**
 * The coordinator HTTP function: Cloud Workflows calls it (with an OIDC token) to create a run,
 * build the initial model, and open rounds. Thin: the routes live in src/services/coordinator.ts.
 */
export function coordinatorHandler(getCoordinator: () => Promise<Coordinator>) {
  return async (
    req: { method: string; path: string; body?: unknown },
    res: { status(code: number): { json(body: unknown): void } },
  ) => {
    const coordinator = await getCoordinator();
    const answer = await coordinator.handle({ method: req.method, path: req.path, body: req.body });
    res.status(answer.status).json(answer.body);
  };
}

/** Deployed: the coordinator over the stack named by the environment (built once per instance). */
let cloudCoordinator: Promise<Coordinator> | undefined;
functions.http(
  'coordinator',
  coordinatorHandler(() => {
    cloudCoordinator ??= coordinatorFromStack(process.env);
    return cloudCoordinator;
  }) as unknown as functions.HttpFunction,
);
