import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths, RoundDocumentSchema, RunDocumentSchema } from '../../schemas/documents';
import { TrainingReportSchema } from '../../schemas/report';
import { openStackPorts, type StackPorts } from '../../src/config/stack-config';
import { readStackState, stackConfigOf, type StackState } from '../../src/local/stack/stack-control';
import { himas } from '../e2e/cli-runner';
import { describeWithEmulators } from './emulator-harness';

/**
 * Issue 5, "done when", on the real emulators through the CLI as a user runs it:
 * `himas train --stack emulators` starts the stack (both emulators, the aggregate, coordinator and
 * five agent functions on functions-framework behind Pub/Sub push), runs the workflow with every
 * hospital job as its own process on HIMAS_STACK=emulators, and the Firestore emulator then holds
 * the run, its rounds, receipts, model versions and the agents' warehouse rows; `himas status` and
 * `himas agents` with `--stack emulators` read them.
 */
describeWithEmulators('himas train --stack emulators (real emulators, end to end)', () => {
  const ROUNDS = 2;
  let cwd: string;
  let state: StackState;
  let ports: StackPorts;
  let trainResult: ReturnType<typeof himas>;
  let runId: string;

  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-emulators-'));
    trainResult = himas(
      [
        'train',
        '--stack',
        'emulators',
        '--rounds',
        String(ROUNDS),
        '--hidden-units',
        '8',
        '--local-epochs',
        '1',
        '--patients',
        '600',
        '--run-id',
        'emu-run',
        '--out',
        'out',
      ],
      { cwd, timeoutMs: 240_000 },
    );
    const recorded = readStackState(path.join(cwd, '.himas'));
    if (recorded) {
      state = recorded;
      ports = openStackPorts(stackConfigOf(state));
    }
    if (trainResult.status !== 0)
      throw new Error(`himas train --stack emulators failed:\n${trainResult.stderr}\n${trainResult.stdout}`);
    runId = TrainingReportSchema.parse(
      JSON.parse(readFileSync(path.join(cwd, 'out', 'report.json'), 'utf8')),
    ).runId;
  }, 270_000);

  afterAll(async () => {
    await ports?.close();
    const down = himas(['stack', 'down'], { cwd });
    expect(down.status).toBe(0);
    // Nothing of the stack may outlive the test (the emulators' Java children included).
    for (const p of state?.processes ?? []) expect(groupAlive(p.pid)).toBe(false);
    expect(leftovers(state)).toEqual([]);
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  it('trains every round through the functions and writes the same report as embedded', () => {
    expect(runId).toBe('emu-run');
    for (let round = 1; round <= ROUNDS; round++)
      expect(trainResult.stderr).toContain(`round ${round}/${ROUNDS} closed`);
    expect(trainResult.stdout).toMatch(/Run emu-run completed/);
    expect(trainResult.stdout).toMatch(/Final model emu-run-r0002/);
    // The aggregation ran in its functions-framework server, fed by the push subscriptions.
    const aggregateLog = readFileSync(state.processes.find((p) => p.name === 'aggregate')!.log, 'utf8');
    expect(aggregateLog).toMatch(/"event":"round.closed"/);
  });

  it('leaves the run, its rounds, receipts and model versions in the Firestore emulator', async () => {
    const run = RunDocumentSchema.parse(await ports.documents.get(paths.run(runId)));
    expect(run.status).toBe('completed');
    expect(run.currentRound).toBe(ROUNDS);
    const rounds = (await ports.documents.list(paths.rounds(runId))).map((s) =>
      RoundDocumentSchema.parse(s.data),
    );
    expect(rounds.map((r) => [r.round, r.status])).toEqual([
      [1, 'closed'],
      [2, 'closed'],
    ]);
    for (const round of rounds) {
      const receipts = await ports.documents.list(paths.updates(runId, round.round));
      expect(receipts.map((r) => r.id).sort()).toEqual([...run.hospitals].sort());
    }
    const versions = await ports.models.list(runId);
    expect(versions.map((v) => v.versionId)).toEqual(['emu-run-r0000', 'emu-run-r0001', 'emu-run-r0002']);
    // Artifacts sit in the stack's shared blob folder and match their documents' checksums.
    const { doc } = await ports.models.load('emu-run-r0002');
    expect(doc.round).toBe(2);
  });

  it('himas status --stack emulators reads them back', () => {
    const list = himas(['status', '--stack', 'emulators'], { cwd });
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/emu-run\s+completed\s+succeeded\s+2\/2/);
    const one = himas(['status', 'emu-run', '--stack', 'emulators', '--json'], { cwd });
    expect(one.status).toBe(0);
    const shown = JSON.parse(one.stdout) as { rounds: unknown[]; versions: unknown[] };
    expect(shown.rounds).toHaveLength(ROUNDS);
    expect(shown.versions).toHaveLength(ROUNDS + 1);
  });

  it('the agent functions ran behind their push subscriptions; himas agents --stack emulators reads their rows', async () => {
    // The agents react to model.published on their own, so the last version's rows may still be
    // on their way when train returns: read until every round has them (or the deadline passes).
    const versions = [1, 2].map((round) => `emu-run-r000${round}`);
    let shown: AgentsJson | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const result = himas(['agents', 'emu-run', '--stack', 'emulators', '--json'], { cwd });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      shown = JSON.parse(result.stdout) as AgentsJson;
      const has = (rows: { modelVersionId: string }[]) =>
        versions.every((v) => rows.some((r) => r.modelVersionId === v));
      if (has(shown.privacyAudit) && has(shown.progress)) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    // The privacy guardian audited every round's version (ε recomputed from the ledger).
    expect([...new Set(shown!.privacyAudit.map((a) => a.round))]).toEqual([1, 2]);
    for (const a of shown!.privacyAudit) {
      expect(a.modelVersionId).toBe(`emu-run-r000${a.round}`);
      expect(['ok', 'warning', 'halt', 'critical']).toContain(a.level);
    }
    // The orchestrator recorded its view of the run at each version.
    expect(shown!.progress.map((p) => [p.round, p.modelVersionId])).toEqual([
      [1, 'emu-run-r0001'],
      [2, 'emu-run-r0002'],
    ]);
    expect(shown!.summary).toEqual(expect.any(String));
    const guardianLog = readFileSync(state.processes.find((p) => p.name === 'privacy-guardian')!.log, 'utf8');
    expect(guardianLog).not.toMatch(/"severity":"ERROR"/);
  }, 90_000);

  it('himas stack status names every process and where it serves', () => {
    const status = himas(['stack', 'status'], { cwd });
    expect(status.status).toBe(0);
    for (const name of [
      'pubsub-emulator',
      'firestore-emulator',
      'aggregate',
      'coordinator',
      'privacy-guardian',
      'orchestrator',
      'clinical-decision-support',
      'disease-surveillance',
      'treatment-optimization',
    ])
      expect(status.stdout).toMatch(
        new RegExp(`${name}\\s+http://127\\.0\\.0\\.1:\\d+\\s+pid \\d+\\s+running`),
      );
  });
});

interface AgentsJson {
  privacyAudit: { round: number; modelVersionId: string; level: string }[];
  progress: { round: number; modelVersionId: string }[];
  summary: string | null;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes still serving a port of this test's stack (`--host-port=127.0.0.1:P`, `--port=P`). */
function leftovers(state: StackState | undefined): string[] {
  const ports = (state?.processes ?? []).map((p) => p.host.split(':').pop()!);
  return ports.flatMap((port) => {
    try {
      return execFileSync('pgrep', ['-fa', `(127\\.0\\.0\\.1:|--port=)${port}( |$)`], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.trim() !== '');
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  });
}
