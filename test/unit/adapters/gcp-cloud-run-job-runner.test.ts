/**
 * CloudRunJobRunner at the request level: the real JobsClient and ExecutionsClient
 * (@google-cloud/run v2) in their HTTP/JSON mode (`fallback: true`) against a loopback server.
 * Pins the job path and overrides sent, how executions map to JobResult, how maxAttempts is
 * honoured beyond the job's own retries, and the errors for a missing job and a denied caller.
 */
import { v2 } from '@google-cloud/run';
import { CloudRunJobError, CloudRunJobRunner } from '../../../src/adapters/gcp/cloud-run-job-runner';
import { FakeGoogleRestServer, restError, type RestAnswer } from './fixtures/fake-google-rest-server';

const LOCATION = 'projects/himas-test/locations/europe-west1';
const JOB = `${LOCATION}/jobs/himas-train-h1`;
const EXECUTION_TYPE = 'type.googleapis.com/google.cloud.run.v2.Execution';

interface ExecutionFields {
  succeededCount?: number;
  failedCount?: number;
  retriedCount?: number;
  conditions?: { type: string; state: number; message: string }[];
}

/**
 * Cloud Run's runJob operation for execution `id`: answered running (its metadata names the
 * execution), then done with the execution as response or with an error when polled.
 */
function operation(
  server: FakeGoogleRestServer,
  id: string,
  execution: ExecutionFields,
  error?: { code: number; message: string },
): RestAnswer {
  const name = `${JOB}/executions/${id}`;
  const operationName = `${LOCATION}/operations/${id}`;
  server.route('GET', new RegExp(`/operations/${id}$`), {
    json: {
      name: operationName,
      metadata: { '@type': EXECUTION_TYPE, name },
      done: true,
      ...(error ? { error } : { response: { '@type': EXECUTION_TYPE, name, ...execution } }),
    },
  });
  return { json: { name: operationName, metadata: { '@type': EXECUTION_TYPE, name }, done: false } };
}

describe('CloudRunJobRunner against a fake Cloud Run Admin API', () => {
  let server: FakeGoogleRestServer;
  let jobs: v2.JobsClient;
  let executions: v2.ExecutionsClient;
  let runner: CloudRunJobRunner;

  beforeAll(async () => {
    server = await new FakeGoogleRestServer().start();
    jobs = new v2.JobsClient(server.clientOptions<ConstructorParameters<typeof v2.JobsClient>[0]>());
    executions = new v2.ExecutionsClient(
      server.clientOptions<ConstructorParameters<typeof v2.ExecutionsClient>[0]>(),
    );
  });
  afterAll(async () => {
    await jobs.close();
    await executions.close();
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    let tick = 0;
    // A clock that advances 1.5 s per reading: durations come from it, never from the wall.
    runner = new CloudRunJobRunner(
      jobs,
      { projectId: 'himas-test', region: 'europe-west1' },
      executions,
      () => (tick += 1500),
    );
  });

  const runs = () => server.requests.filter((r) => r.path.endsWith(':run'));

  test("runs the hospital's job with the overrides (env, one task, timeout) and maps a success", async () => {
    server.route(
      'POST',
      /:run$/,
      operation(server, 'himas-train-h1-x1', { succeededCount: 1, retriedCount: 1 }),
    );
    const result = await runner.run({
      jobName: 'himas-train-h1',
      env: { HIMAS_RUN_ID: 'run-1', HIMAS_ROUND: '3', HIMAS_HOSPITAL_ID: 'h1' },
      timeoutSeconds: 3600,
    });

    expect(runs()).toHaveLength(1);
    expect(runs()[0].path).toBe(`/v2/${JOB}:run`);
    // The job's name travels in the URL; the body is the overrides.
    expect(runs()[0].body).toEqual({
      overrides: {
        containerOverrides: [
          {
            env: [
              { name: 'HIMAS_RUN_ID', value: 'run-1' },
              { name: 'HIMAS_ROUND', value: '3' },
              { name: 'HIMAS_HOSPITAL_ID', value: 'h1' },
            ],
          },
        ],
        taskCount: 1,
        timeout: '3600s',
      },
    });
    expect(result).toEqual({
      executionId: 'himas-train-h1-x1',
      jobName: 'himas-train-h1',
      status: 'succeeded',
      attempts: 2, // Cloud Run retried the task once
      durationSeconds: 1.5,
    });
  });

  test("a failed execution is read back for its attempts and the failed condition's message", async () => {
    server.route(
      'POST',
      /:run$/,
      operation(server, 'himas-train-h1-x2', {}, { code: 2, message: 'Execution failed' }),
    );
    server.route('GET', /\/executions\/himas-train-h1-x2$/, {
      json: {
        name: `${JOB}/executions/himas-train-h1-x2`,
        failedCount: 1,
        retriedCount: 2,
        conditions: [
          { type: 'Completed', state: 3, message: 'Task himas-train-h1-x2-task0 exited with code 1' },
        ],
      },
    });
    const result = await runner.run({ jobName: 'himas-train-h1', env: {}, maxAttempts: 3 });
    expect(result).toMatchObject({
      executionId: 'himas-train-h1-x2',
      status: 'failed',
      attempts: 3,
      error: 'Task himas-train-h1-x2-task0 exited with code 1',
    });
    // The job's own retries already spent the three attempts: no second execution.
    expect(runs()).toHaveLength(1);
  });

  test('maxAttempts beyond the job’s own retries starts another execution', async () => {
    let n = 0;
    server.route('POST', /:run$/, () =>
      ++n === 1
        ? operation(server, 'himas-train-h1-a', {}, { code: 2, message: 'Execution failed' })
        : operation(server, 'himas-train-h1-b', { succeededCount: 1, retriedCount: 0 }),
    );
    server.route('GET', /\/executions\/himas-train-h1-a$/, {
      json: { name: `${JOB}/executions/himas-train-h1-a`, failedCount: 1, retriedCount: 1 },
    });
    const result = await runner.run({ jobName: 'himas-train-h1', env: {}, maxAttempts: 4 });
    expect(runs()).toHaveLength(2);
    expect(result).toMatchObject({ executionId: 'himas-train-h1-b', status: 'succeeded', attempts: 3 });
  });

  test('without an executions client a failure still reports the operation error', async () => {
    const bare = new CloudRunJobRunner(jobs, { projectId: 'himas-test', region: 'europe-west1' });
    server.route(
      'POST',
      /:run$/,
      operation(server, 'himas-train-h1-x3', {}, { code: 4, message: 'Task timed out' }),
    );
    expect(await bare.run({ jobName: 'himas-train-h1', env: {} })).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: expect.stringContaining('Task timed out'),
    });
  });

  test('a job that does not exist is an error naming it and where it was looked for', async () => {
    server.route('POST', /:run$/, restError(404, 'NOT_FOUND', 'Resource not found'));
    const failed = runner.run({ jobName: 'himas-train-h9', env: {} });
    await expect(failed).rejects.toThrow(CloudRunJobError);
    await expect(failed).rejects.toThrow(
      /Cloud Run job himas-train-h9 does not exist \(projects\/himas-test\/locations\/europe-west1\/jobs\/himas-train-h9\)/,
    );
  });

  test('a caller without permission is told which permission the job needs', async () => {
    server.route(
      'POST',
      /:run$/,
      restError(403, 'PERMISSION_DENIED', "Permission 'run.jobs.runWithOverrides' denied"),
    );
    await expect(runner.run({ jobName: 'himas-train-h1', env: {} })).rejects.toThrow(
      /not allowed to run Cloud Run job himas-train-h1 with overrides .*run.jobs.runWithOverrides/,
    );
  });
});
