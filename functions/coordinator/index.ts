import * as functions from '@google-cloud/functions-framework';
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

let cloudCoordinator: Promise<Coordinator> | undefined;
functions.http(
  'coordinator',
  coordinatorHandler(() => {
    cloudCoordinator ??= Promise.reject(
      new Error('the Google Cloud adapters are not wired into the deployed functions yet (issue 5)'),
    );
    return cloudCoordinator;
  }) as unknown as functions.HttpFunction,
);
