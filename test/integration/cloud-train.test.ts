import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExecutionsClient } from '@google-cloud/workflows';
import { TrainingReportSchema } from '../../schemas/report';
import { WorkflowExecutions } from '../../src/adapters/gcp/workflow-executions';
import { trainOnCloud, type CloudTrainingDeps } from '../../src/cli/cloud-training';
import { planData, writePlannedData, type DataPlan } from '../../src/cli/train-plan';
import { UserError } from '../../src/cli/user-error';
import { openStackPorts, type StackPorts } from '../../src/config/stack-config';
import { loadTrainingConfig } from '../../src/config/training-config-loader';
import { openEmulatorPlatform } from '../../src/local/stack/emulator-platform';
import { ensureStack, stackConfigOf, stopStack, type StackState } from '../../src/local/stack/stack-control';
import { runTrainingWorkflow } from '../../src/local/workflow-training';
import type { WorkflowOutcome } from '../../src/local/workflows';
import { silentLogger } from '../../src/logging/logger';
import {
  FakeGoogleRestServer,
  type RecordedRestRequest,
} from '../unit/adapters/fixtures/fake-google-rest-server';
import { himas } from '../e2e/cli-runner';
import { describeWithEmulators } from './emulator-harness';

/**
 * `himas train --stack gcp` end to end without a project: the Executions API is a local fake that
 * behaves as Cloud Workflows does with the deployed workflow (it runs workflows/federated-training.yaml
 * on the local engine against the emulator stack, with the deployment's hospitals and declared
 * sizes as its user_env_vars would give them), and the CLI follows the run in the Firestore
 * emulator exactly as it would in the project's Firestore.
 */
const WORKFLOW = 'projects/himas-local/locations/europe-west4/workflows/himas-training';

describeWithEmulators('himas train --stack gcp (fake Executions API, Firestore emulator)', () => {
  let home: string;
  let state: StackState;
  let ports: StackPorts;
  let server: FakeGoogleRestServer;
  let client: ExecutionsClient;
  let plan: DataPlan;
  const lines: string[] = [];

  /** A Workflows service running the deployed workflow: one execution per POST, read by GET. */
  function deployWorkflow(dataDir: string): Map<string, { outcome?: WorkflowOutcome }> {
    const runs = new Map<string, { outcome?: WorkflowOutcome }>();
    server.route('POST', /\/workflows\/himas-training\/executions$/, (request: RecordedRestRequest) => {
      const argument = JSON.parse(String(request.body?.argument)) as Record<string, unknown>;
      const name = `${WORKFLOW}/executions/e-${runs.size + 1}`;
      const entry: { outcome?: WorkflowOutcome } = {};
      runs.set(name, entry);
      const platform = openEmulatorPlatform({ state, dataDir, logger: silentLogger });
      void runTrainingWorkflow(platform, {
        runId: String(argument.runId),
        hospitals: plan.hospitals, // HIMAS_HOSPITALS of the deployment
        config: argument.config as never,
        dataDir,
        declaredTrainStays: plan.declaredTrainStays, // HIMAS_DECLARED_TRAIN_STAYS
        resume: argument.resume === true,
        deadlineGraceSeconds: 10,
      })
        .then((outcome) => (entry.outcome = outcome))
        .catch((error: Error) => (entry.outcome = { ok: false, error: { message: error.message } } as never))
        .finally(() => platform.close());
      return { json: { name, state: 'ACTIVE', argument: request.body?.argument } };
    });
    server.route('GET', /\/executions\/e-\d+$/, (request) => {
      const name = request.path.replace(/^\/v1\//, '');
      const entry = runs.get(name);
      if (!entry) return undefined;
      const outcome = entry.outcome;
      if (!outcome) return { json: { name, state: 'ACTIVE' } };
      return outcome.ok
        ? { json: { name, state: 'SUCCEEDED', result: JSON.stringify(outcome.result ?? null) } }
        : { json: { name, state: 'FAILED', error: { payload: JSON.stringify(outcome.error) } } };
    });
    return runs;
  }

  const deps = (): CloudTrainingDeps => ({
    executions: new WorkflowExecutions(client, {
      projectId: 'himas-local',
      region: 'europe-west4',
      workflow: 'himas-training',
    }),
    documents: ports.documents,
    models: ports.models,
    commandFlags: '--stack gcp --project himas-local --region europe-west4',
    say: (line) => lines.push(line),
    pollMs: 500,
  });

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-cloud-train-'));
    const config = loadTrainingConfig({
      flags: { rounds: '2', hiddenUnits: '8', localEpochs: '1', patients: '600' },
      env: {},
    });
    plan = await planData(config, undefined, path.join(home, 'cohorts'));
    await writePlannedData(plan, () => undefined);
    state = await ensureStack(path.join(home, '.himas'), () => undefined);
    ports = openStackPorts(stackConfigOf(state));
    server = await new FakeGoogleRestServer().start();
    client = new ExecutionsClient(server.clientOptions<ConstructorParameters<typeof ExecutionsClient>[0]>());
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await ports?.close();
    await stopStack(path.join(home, '.himas'));
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  test('starts the deployed workflow, prints each round from Firestore, and writes the report and model', async () => {
    deployWorkflow(plan.dataDir);
    const config = loadTrainingConfig({
      flags: { rounds: '2', hiddenUnits: '8', localEpochs: '1', patients: '600' },
      env: {},
    });
    const outDir = path.join(home, 'out');
    const stdout: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await trainOnCloud(deps(), { runId: 'cloud-run', config, resume: false, outDir, json: false });
    } finally {
      write.mockRestore();
    }

    expect(code).toBe(0);
    // What the CLI asked the Executions API for: the workflow's args, as a JSON string.
    const create = server.requests.find((r) => r.method === 'POST')!;
    expect(create.path).toBe(`/v1/${WORKFLOW}/executions`);
    const argument = JSON.parse(String(create.body?.argument)) as {
      runId: string;
      config: { rounds: number };
    };
    expect(argument.runId).toBe('cloud-run');
    expect(argument.config.rounds).toBe(2);
    expect(server.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);

    // The same per-round progress as a local run, read from Firestore.
    const text = lines.join('\n');
    expect(text).toContain(`execution ${WORKFLOW}/executions/e-1`);
    expect(text).toMatch(/privacy plan: /);
    expect(text).toMatch(/round 1\/2 closed → cloud-run-r0001/);
    expect(text).toMatch(/round 2\/2 closed → cloud-run-r0002/);
    for (const h of plan.hospitals) expect(text).toContain(`    ${h}`);

    // The same summary and report, with no record counts (the records stay in the hospitals).
    expect(stdout.join('')).toMatch(/Run cloud-run completed in .* on the Cloud Run job backend/);
    const report = TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(outDir, 'report.json'), 'utf8')),
    );
    expect(report.rounds.map((r) => r.status)).toEqual(['closed', 'closed']);
    expect(report.dataSource.kind).toBe('csv');
    expect(report.hospitals.every((h) => h.trainStays === null)).toBe(true);
    expect(report.baselines).toEqual([]);
    expect(report.finalModel?.versionId).toBe('cloud-run-r0002');
    expect(existsSync(path.join(outDir, 'model', 'model.json'))).toBe(true);
    expect(existsSync(path.join(outDir, 'report.html'))).toBe(true);
  }, 300_000);

  test('himas status --stack gcp reads the same run from Firestore', () => {
    // The Firestore client honours FIRESTORE_EMULATOR_HOST: the command as a user runs it, on the emulator.
    const env = { FIRESTORE_EMULATOR_HOST: state.firestoreEmulatorHost, GOOGLE_CLOUD_PROJECT: '' };
    const flags = ['--stack', 'gcp', '--project', state.projectId, '--region', 'europe-west4'];
    const one = himas(['status', 'cloud-run', ...flags], { cwd: home, env });
    expect(one.status).toBe(0);
    expect(one.stdout).toMatch(/Run cloud-run: completed, round 2 of 2/);
    expect(one.stdout).toMatch(/data: csv /);
    expect(one.stdout).toMatch(/latest model: cloud-run-r0002/);
    const list = himas(['status', ...flags, '--json'], { cwd: home, env });
    expect(list.status).toBe(0);
    expect(
      (JSON.parse(list.stdout) as { runId: string; outcome: string }[]).map((r) => [r.runId, r.outcome]),
    ).toEqual([['cloud-run', 'succeeded']]);
  }, 60_000);

  test('a run that already exists is refused before any execution starts', async () => {
    server.reset();
    await expect(
      trainOnCloud(deps(), {
        runId: 'cloud-run',
        config: loadTrainingConfig({ flags: { rounds: '1' }, env: {} }),
        resume: false,
        outDir: path.join(home, 'again'),
        json: false,
      }),
    ).rejects.toThrow(
      /run 'cloud-run' already exists .*himas train --stack gcp --project himas-local --region europe-west4 --resume cloud-run/,
    );
    expect(server.requests).toEqual([]);
  });

  test('a failed execution exits with the failure code, its error, and how to resume', async () => {
    server.reset();
    server.route('POST', /\/executions$/, { json: { name: `${WORKFLOW}/executions/bad`, state: 'ACTIVE' } });
    server.route('GET', /\/executions\/bad$/, {
      json: {
        name: `${WORKFLOW}/executions/bad`,
        state: 'FAILED',
        error: {
          payload: JSON.stringify({ message: 'HTTP server responded with error code 403', code: 403 }),
        },
      },
    });
    const failure = trainOnCloud(deps(), {
      runId: 'cloud-fails',
      config: loadTrainingConfig({ flags: { rounds: '1' }, env: {} }),
      resume: false,
      outDir: path.join(home, 'fails'),
      json: false,
    });
    await expect(failure).rejects.toBeInstanceOf(UserError);
    await expect(failure).rejects.toMatchObject({ exitCode: 4 });
    await expect(failure).rejects.toThrow(
      /execution .*\/executions\/bad ended FAILED: HTTP server responded with error code 403; continue with `himas train --stack gcp .* --resume cloud-fails`/,
    );
  });
});
