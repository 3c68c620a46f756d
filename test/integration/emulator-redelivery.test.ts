import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  type RoundDocument,
  type RunDocument,
} from '../../schemas/documents';
import { openStackPorts, type StackPorts } from '../../src/config/stack-config';
import { CONFIG_FIELDS } from '../../src/config/training-config-loader';
import {
  restartFunction,
  readStackState,
  stackConfigOf,
  type StackState,
} from '../../src/local/stack/stack-control';
import { openEmbeddedPlatform } from '../../src/local/embedded-platform';
import { silentLogger } from '../../src/logging/logger';
import type { DocumentStore } from '../../src/ports/document-store';
import type { ModelRegistry } from '../../src/ports/model-registry';
import { himas, type CliResult } from '../e2e/cli-runner';
import { spawnHimas } from './cli-process';
import { describeWithEmulators } from './emulator-harness';
import { pushAggregatorThrough, startPushRelay, type PushedMessage, type PushRelay } from './push-relay';
import { runOutcome } from '../chaos/run-snapshot';

/**
 * Issue 5, "done when": on the real emulators, every `update.submitted` reaches the aggregate
 * function at least twice (Pub/Sub redelivers the same message after its ack is lost), the
 * function server process is killed with SIGKILL once mid-round and started again behind the same
 * URL, and the CLI driving the run is killed with SIGKILL mid-round and resumed. The run must end
 * exactly as a clean run with the same seed (on the embedded adapters, which give the same bits as
 * a clean run on the emulators): the same model versions (weights SHA-256), the same
 * receipts per round, the same participants and privacy ledger; nothing lost, nothing counted twice.
 *
 * "The same" is exact because the run is deterministic without noise: hospital-level noise is
 * off (z = 0) and patients are not protected by DP-SGD, whose noise comes from the CSPRNG and would
 * differ between any two runs. Secure aggregation is pinned off when the setting exists, so the
 * receipts can be compared byte for byte (masked updates differ run to run; their sum does not).
 */
const CLEAN = 'clean-run';
const CHAOS = 'chaos-run';
const ROUNDS = 2;
const HOSPITALS = 3;
const TRAINING = [
  '--rounds',
  String(ROUNDS),
  '--hospitals',
  String(HOSPITALS),
  '--patients',
  '600',
  '--seed',
  '7',
  '--hidden-units',
  '8',
  '--local-epochs',
  '1',
  '--aggregation',
  'dp-fedavg',
  '--noise-multiplier',
  '0',
  '--patient-privacy',
  'none',
  ...('secureAggregation' in CONFIG_FIELDS ? ['--secure-aggregation', 'false'] : []),
];

describeWithEmulators('redelivery and crashes on the emulator stack (real emulators)', () => {
  let cwd: string;
  let home: string;
  const cleanHome = () => path.join(cwd, 'clean-home');
  let state: StackState;
  let ports: StackPorts;
  let relay: PushRelay;
  let clean: CliResult;
  let crashed: CliResult;
  let resumed: CliResult;
  let afterCrash: { run: RunDocument; round2: RoundDocument; receipts2: number };
  const killedAggregatorPids: number[] = [];
  const chaos = {
    aggregatorRestart: undefined as Promise<unknown> | undefined,
    killCli: undefined as (() => void) | undefined,
    cliKilledInRound: undefined as number | undefined,
    /** 2xx answers of the function per Pub/Sub message id of the chaos run's updates. */
    processed: new Map<string, number>(),
  };

  /**
   * What Pub/Sub hears for each push the function answered. Clean run: the function's answer.
   * Chaos run, update.submitted only: the first successful processing of each message loses its
   * ack (503: Pub/Sub redelivers it), and the first of round 1 also kills the function server.
   * Chaos run, round.started of round 2: the CLI is killed (its hospital jobs with it).
   */
  async function decide(message: PushedMessage, functionStatus: number): Promise<number> {
    const event = message.event;
    const roundTwoOpened = event?.runId === CHAOS && event.type === 'round.started' && event.round === 2;
    if (roundTwoOpened && chaos.killCli && chaos.cliKilledInRound === undefined) {
      // Round 2 is open and its jobs are starting (a job needs seconds to start): normally none
      // has sent its update yet. Once only: the resumed CLI announces round 2 again.
      chaos.cliKilledInRound = event.round;
      chaos.killCli();
      return functionStatus;
    }
    if (event?.runId !== CHAOS || event.type !== 'update.submitted' || functionStatus >= 300)
      return functionStatus;
    const times = (chaos.processed.get(message.messageId) ?? 0) + 1;
    chaos.processed.set(message.messageId, times);
    if (event.round === 1 && chaos.aggregatorRestart === undefined) {
      chaos.aggregatorRestart = killAndRestartAggregator();
      return 503;
    }
    return times === 1 ? 503 : functionStatus;
  }

  /** SIGKILL of the functions-framework process (its whole group), then a new instance on the same URL. */
  async function killAndRestartAggregator(): Promise<void> {
    const pid = readStackState(home)!.processes.find((p) => p.name === 'aggregate')!.pid;
    process.kill(-pid, 'SIGKILL');
    killedAggregatorPids.push(pid);
    while (groupAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
    await restartFunction(home, 'aggregate');
  }

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-redelivery-'));
    home = path.join(cwd, '.himas');
    // The clean run is embedded (in-process jobs), while the stack starts: the same code on other
    // adapters gives the same bits (checked by hand against a clean run on the emulators), and it
    // costs a third of the time.
    const [up, cleanRun] = await Promise.all([
      spawnHimas(['stack', 'up'], { cwd }).done,
      spawnHimas(
        [
          'train',
          ...TRAINING,
          '--job-runner',
          'in-process',
          '--home',
          cleanHome(),
          '--run-id',
          CLEAN,
          '--out',
          'clean',
        ],
        { cwd },
      ).done,
    ]);
    clean = cleanRun;
    if (up.status !== 0) throw new Error(`himas stack up failed:\n${up.stderr}`);
    if (clean.status !== 0) throw new Error(`the clean run failed:\n${clean.stderr}`);
    state = readStackState(home)!;
    ports = openStackPorts(stackConfigOf(state));
    relay = await startPushRelay({
      target: state.aggregateUrl,
      decide,
      ready: () => chaos.aggregatorRestart ?? Promise.resolve(),
    });
    await pushAggregatorThrough(state, relay.url);

    const chaosRun = spawnHimas(
      ['train', '--stack', 'emulators', ...TRAINING, '--run-id', CHAOS, '--out', 'chaos'],
      { cwd },
    );
    chaos.killCli = () => process.kill(-chaosRun.child.pid!, 'SIGKILL');
    crashed = await chaosRun.done;
    await chaos.aggregatorRestart;
    afterCrash = {
      run: RunDocumentSchema.parse(await ports.documents.get(paths.run(CHAOS))),
      round2: RoundDocumentSchema.parse(await ports.documents.get(paths.round(CHAOS, 2))),
      receipts2: (await ports.documents.list(paths.updates(CHAOS, 2))).length,
    };
    resumed = await spawnHimas(['train', '--stack', 'emulators', '--resume', CHAOS], { cwd }).done;
    if (resumed.status !== 0)
      throw new Error(`the resumed run failed:\n${resumed.stderr}\n${crashed.stderr}`);
  }, 420_000);

  afterAll(async () => {
    await relay?.close();
    await ports?.close();
    const down = himas(['stack', 'down'], { cwd });
    expect(down.status).toBe(0);
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  it('killed the aggregate function server mid-round 1 and the CLI mid-round 2, then resumed', () => {
    expect(killedAggregatorPids).toHaveLength(1);
    expect(readStackState(home)!.processes.find((p) => p.name === 'aggregate')!.pid).not.toBe(
      killedAggregatorPids[0],
    );
    expect(chaos.cliKilledInRound).toBe(2);
    expect(crashed.status).toBeNull(); // ended by the signal, not by finishing
    expect(crashed.stdout).not.toMatch(/completed/);
    // Left mid-run: round 1 closed, round 2 open and short of updates (its jobs died with the
    // CLI, normally before sending any), so the resumed CLI had to run round 2's jobs itself.
    expect(afterCrash.run.status).toBe('running');
    expect(afterCrash.run.currentRound).toBe(1);
    expect(afterCrash.round2.status).toBe('open');
    expect(afterCrash.receipts2).toBeLessThan(HOSPITALS);
    expect(resumed.stderr).toContain(`round 2/${ROUNDS} closed`);
    expect(resumed.stderr).toContain(`HIMAS run ${CHAOS} (resumed)`);
    expect(resumed.stdout).toMatch(new RegExp(`Run ${CHAOS} completed`));
  });

  it('delivered every update.submitted of the chaos run to the function at least twice', () => {
    const updates = relay.deliveries.filter(
      (d) => d.event?.runId === CHAOS && d.event.type === 'update.submitted',
    );
    const hospitalRounds = new Set(updates.map((d) => d.event!.id));
    expect(hospitalRounds.size).toBe(ROUNDS * HOSPITALS);
    for (const messageId of new Set(updates.map((d) => d.messageId)))
      expect(chaos.processed.get(messageId)).toBeGreaterThanOrEqual(2);
    // Redelivered as Pub/Sub does: the same message id carries the same attributes every time.
    for (const d of updates) {
      const first = updates.find((u) => u.messageId === d.messageId)!;
      expect(d.attributes).toEqual(first.attributes);
    }
  });

  it('accepted each update at most once and closed each round once, across both function processes', () => {
    const entries = aggregateLog(state).filter((e) => e.runId === CHAOS);
    const count = (event: string) => {
      const counts = new Map<string, number>();
      for (const e of entries.filter((x) => x.event === event)) {
        const key = `${e.round}:${e.hospitalId ?? ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    };
    const accepted = count('update.accepted');
    for (const times of accepted.values()) expect(times).toBe(1);
    // An update whose push was in flight when the function server was killed may have been
    // committed with its log line lost to SIGKILL: its redelivery is then a duplicate. Every other
    // update's acceptance is in the log; none is accepted twice.
    const cutOffByKill = new Set(
      relay.deliveries
        .filter(
          (d) => d.event?.runId === CHAOS && d.event.type === 'update.submitted' && d.functionStatus === 0,
        )
        .map((d) => `${d.event!.round}:${d.event!.hospitalId ?? ''}`),
    );
    expect(accepted.size).toBeGreaterThanOrEqual(ROUNDS * HOSPITALS - cutOffByKill.size);
    const duplicates = new Set(count('update.duplicate').keys());
    // Every update came back at least once and was recognised as a duplicate.
    expect(duplicates.size).toBe(ROUNDS * HOSPITALS);
    for (const key of accepted.keys()) expect(duplicates).toContain(key);
    for (const key of duplicates) expect(accepted.has(key) || cutOffByKill.has(key)).toBe(true);
    expect([...count('round.closed').entries()].sort()).toEqual(
      Array.from({ length: ROUNDS }, (_, i) => [`${i + 1}:`, 1]),
    );
  });

  it('ends with the same model versions, receipts, participants and ledger as the clean run', async () => {
    const embedded = await openEmbeddedPlatform({
      home: cleanHome(),
      dataDir: '',
      logger: silentLogger,
      withAggregator: false,
    });
    let expected;
    try {
      expected = await snapshot(embedded.stack.documents, embedded.models, CLEAN);
    } finally {
      await embedded.close();
    }
    const actual = await snapshot(ports.documents, ports.models, CHAOS);
    expect(expected.status).toBe('completed');
    expect(expected.versions).toHaveLength(ROUNDS + 1);
    expect(expected.rounds.map((r) => r.status)).toEqual(Array(ROUNDS).fill('closed'));
    for (const receipts of expected.receipts) expect(receipts).toHaveLength(HOSPITALS);
    expect(actual).toEqual(expected);
  });
});

/** What a run left in Firestore, with its run id taken out so two runs compare field by field. */
async function snapshot(documents: DocumentStore, models: ModelRegistry, runId: string) {
  const { run, rounds, receipts, versions } = await runOutcome(documents, models, runId);
  return {
    status: run.status,
    currentRound: run.currentRound,
    ledger: run.ledger,
    privacy: run.privacy,
    rounds: rounds.map((r) => ({
      round: r.round,
      status: r.status,
      expectedHospitals: r.expectedHospitals,
      quorum: r.quorum,
      participants: r.participants,
    })),
    receipts,
    versions,
  };
}

function aggregateLog(state: StackState): Array<Record<string, unknown>> {
  const log = state.processes.find((p) => p.name === 'aggregate')!.log;
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
