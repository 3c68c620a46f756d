/**
 * WorkflowExecutions at the request level: the real ExecutionsClient (@google-cloud/workflows v1)
 * in its HTTP/JSON mode (`fallback: true`) against a loopback server speaking the Executions REST
 * API. Pins the workflow path and the argument sent (a JSON string, as the API wants it), how
 * states and errors are read back, and the errors for a workflow that is not deployed and a caller
 * without the role.
 */
import { ExecutionsClient } from '@google-cloud/workflows';
import {
  WorkflowExecutionError,
  WorkflowExecutions,
  isFinished,
} from '../../../src/adapters/gcp/workflow-executions';
import { FakeGoogleRestServer, restError } from './fixtures/fake-google-rest-server';

const WORKFLOW = 'projects/himas-test/locations/europe-west4/workflows/himas-training';

describe('WorkflowExecutions against a fake Workflows Executions API', () => {
  let server: FakeGoogleRestServer;
  let client: ExecutionsClient;
  let executions: WorkflowExecutions;

  beforeAll(async () => {
    server = await new FakeGoogleRestServer().start();
    client = new ExecutionsClient(server.clientOptions<ConstructorParameters<typeof ExecutionsClient>[0]>());
    executions = new WorkflowExecutions(client, {
      projectId: 'himas-test',
      region: 'europe-west4',
      workflow: 'himas-training',
    });
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });
  beforeEach(() => server.reset());

  test('starts an execution of the deployed workflow with the argument as a JSON string', async () => {
    server.route('POST', /\/executions$/, {
      json: { name: `${WORKFLOW}/executions/e-1`, state: 'ACTIVE', argument: '{}' },
    });
    const started = await executions.start({ runId: 'run-1', config: { rounds: 2 } });

    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].path).toBe(`/v1/${WORKFLOW}/executions`);
    expect(server.requests[0].headers.authorization).toBe('Bearer test-token');
    const body = server.requests[0].body as { argument: string };
    expect(JSON.parse(body.argument)).toEqual({ runId: 'run-1', config: { rounds: 2 } });
    expect(started).toEqual({ name: `${WORKFLOW}/executions/e-1`, state: 'ACTIVE' });
    expect(isFinished(started.state)).toBe(false);
  });

  test('reads a succeeded execution with its result, and a failed one with the raised message', async () => {
    server.route('GET', /\/executions\/e-2$/, {
      json: {
        name: `${WORKFLOW}/executions/e-2`,
        state: 'SUCCEEDED',
        result: JSON.stringify({ runId: 'run-2', status: 'completed' }),
      },
    });
    server.route('GET', /\/executions\/e-3$/, {
      json: {
        name: `${WORKFLOW}/executions/e-3`,
        state: 'FAILED',
        error: {
          payload: JSON.stringify({
            message: 'round 1 of run run-3 did not close an hour after its deadline',
            tags: ['TimeoutError'],
          }),
          context: 'RuntimeError: ...\nin step "decide", routine "awaitRoundEnd", line: 390',
        },
      },
    });
    const succeeded = await executions.get(`${WORKFLOW}/executions/e-2`);
    expect(server.requests[0].path).toBe(`/v1/${WORKFLOW}/executions/e-2`);
    expect(succeeded).toEqual({
      name: `${WORKFLOW}/executions/e-2`,
      state: 'SUCCEEDED',
      result: { runId: 'run-2', status: 'completed' },
    });
    expect(isFinished(succeeded.state)).toBe(true);

    const failed = await executions.get(`${WORKFLOW}/executions/e-3`);
    expect(failed.state).toBe('FAILED');
    expect(failed.error).toBe(
      'round 1 of run run-3 did not close an hour after its deadline (RuntimeError: ...)',
    );
  });

  test('a workflow that is not deployed says where it looked and how to find the right one', async () => {
    server.route(
      'POST',
      /\/executions$/,
      restError(404, 'NOT_FOUND', `Resource '${WORKFLOW}' was not found`),
    );
    await expect(executions.start({ runId: 'r' })).rejects.toThrow(
      new RegExp(
        `cannot start an execution of ${WORKFLOW}: .*not found.*is HIMAS deployed in project himas-test, region europe-west4\\?`,
      ),
    );
  });

  test('a caller without the role is told which roles it needs', async () => {
    server.route(
      'GET',
      /\/executions\/e-4$/,
      restError(403, 'PERMISSION_DENIED', "Permission 'workflows.executions.get' denied"),
    );
    const failure = executions.get(`${WORKFLOW}/executions/e-4`);
    await expect(failure).rejects.toBeInstanceOf(WorkflowExecutionError);
    await expect(failure).rejects.toThrow(/roles\/workflows\.invoker .* roles\/workflows\.viewer/);
  });

  test("finds the execution still running a run (by its argument's runId), so a resume starts no second one", async () => {
    server.route('GET', /\/workflows\/himas-training\/executions$/, {
      json: {
        executions: [
          { name: `${WORKFLOW}/executions/other`, state: 'ACTIVE', argument: '{"runId":"run-other"}' },
          { name: `${WORKFLOW}/executions/mine`, state: 'ACTIVE', argument: '{"runId":"run-7","config":{}}' },
        ],
      },
    });
    const active = await executions.activeFor('run-7');
    expect(server.requests[0].path).toBe(`/v1/${WORKFLOW}/executions`);
    expect(server.requests[0].query).toMatchObject({ filter: 'state="ACTIVE"', view: 'FULL' });
    expect(active).toEqual({ name: `${WORKFLOW}/executions/mine`, state: 'ACTIVE' });
    expect(await executions.activeFor('run-8')).toBeUndefined();
  });

  test('an answer without a known state is refused, not read as finished', async () => {
    server.route('GET', /\/executions\/e-5$/, { json: { name: `${WORKFLOW}/executions/e-5` } });
    await expect(executions.get(`${WORKFLOW}/executions/e-5`)).rejects.toThrow(
      /without a name or a known state/,
    );
  });
});
