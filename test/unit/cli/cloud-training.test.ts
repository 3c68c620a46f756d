/**
 * trainOnCloud's resume at the request level: a run whose execution is still running is followed,
 * never started twice (a second execution would run every hospital's jobs again and charge their
 * ledgers again); one whose execution ended gets a new execution with `resume: true`. The run is
 * a real one on the embedded stack; the Executions API is the loopback fake.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExecutionsClient } from '@google-cloud/workflows';
import { WorkflowExecutions } from '../../../src/adapters/gcp/workflow-executions';
import { trainOnCloud } from '../../../src/cli/cloud-training';
import { FakeGoogleRestServer } from '../adapters/fixtures/fake-google-rest-server';
import { setUpRun, type RunFixture } from '../services/service-fixture';

const WORKFLOW = 'projects/himas-test/locations/europe-west4/workflows/himas-training';

describe('himas train --stack gcp --resume', () => {
  let server: FakeGoogleRestServer;
  let client: ExecutionsClient;
  let fx: RunFixture;
  let out: string;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await new FakeGoogleRestServer().start();
    client = new ExecutionsClient(server.clientOptions<ConstructorParameters<typeof ExecutionsClient>[0]>());
    fx = await setUpRun({}, { runId: 'cloud-resume' });
    out = mkdtempSync(path.join(os.tmpdir(), 'himas-cloud-resume-'));
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
    await fx.close();
    rmSync(out, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.reset();
    lines.length = 0;
  });

  const resume = () =>
    trainOnCloud(
      {
        executions: new WorkflowExecutions(client, {
          projectId: 'himas-test',
          region: 'europe-west4',
          workflow: 'himas-training',
        }),
        documents: fx.stack.documents,
        models: fx.models,
        commandFlags: '--stack gcp --project himas-test --region europe-west4',
        say: (line) => lines.push(line),
        pollMs: 20,
      },
      { runId: fx.runId, resume: true, outDir: out, json: true },
    );
  const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      return await fn();
    } finally {
      write.mockRestore();
    }
  };

  test('follows the execution still running the run, and starts none', async () => {
    server.route('GET', /\/himas-training\/executions$/, {
      json: {
        executions: [
          {
            name: `${WORKFLOW}/executions/live`,
            state: 'ACTIVE',
            argument: JSON.stringify({ runId: fx.runId }),
          },
        ],
      },
    });
    let polls = 0;
    server.route('GET', /\/executions\/live$/, () => ({
      json: {
        name: `${WORKFLOW}/executions/live`,
        state: ++polls < 2 ? 'ACTIVE' : 'SUCCEEDED',
        result: 'null',
      },
    }));
    // The run is still running in the store, so the outcome is "did not finish": exit 4.
    expect(await quietly(resume)).toBe(4);
    expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(lines[0]).toBe(
      `HIMAS run ${fx.runId} on Google Cloud: following execution ${WORKFLOW}/executions/live, still running (no second one started)`,
    );
  });

  test('starts a new execution with resume: true when none is running', async () => {
    server.route('GET', /\/himas-training\/executions$/, { json: { executions: [] } });
    server.route('POST', /\/executions$/, {
      json: { name: `${WORKFLOW}/executions/again`, state: 'ACTIVE' },
    });
    server.route('GET', /\/executions\/again$/, {
      json: { name: `${WORKFLOW}/executions/again`, state: 'SUCCEEDED', result: 'null' },
    });
    await quietly(resume);
    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(JSON.parse(String(posts[0].body?.argument))).toEqual({ runId: fx.runId, resume: true });
  });
});
