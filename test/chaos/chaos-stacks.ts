import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { hospitalStateDir, localHospitalLedger } from '../../src/adapters/ledger/local-hospital-ledger';
import { openStackPorts } from '../../src/config/stack-config';
import { openEmbeddedPlatform } from '../../src/local/embedded-platform';
import {
  readStackState,
  restartFunction,
  stackConfigOf,
  stackFolder,
  type StackState,
} from '../../src/local/stack/stack-control';
import { silentLogger } from '../../src/logging/logger';
import { spawnHimas } from '../integration/cli-process';
import {
  pushAggregatorThrough,
  startPushRelay,
  type PushedMessage,
  type PushRelay,
} from '../integration/push-relay';
import type { ChaosStackName, FaultKind } from './fault-plan';
import { groupAlive } from './process-tree';
import { snapshotRun, type RunSnapshot } from './run-snapshot';

/**
 * The settings every chaos and clean run trains with: deterministic without privacy noise (as the
 * emulator redelivery test pins it), so a chaos run's model can equal the clean run's bit for bit.
 * Each hospital's lifetime budget is raised because the emulator stack's hospitals keep one ledger
 * across all the suite's runs. The round deadline is shorter than the default 600 s, so that a
 * round stuck for a reason the suite does not know fails within minutes instead of hanging it; it
 * is long enough that jobs starting slowly on a loaded machine (25 s seen) still make their round.
 */
export const CHAOS_TRAINING = [
  '--rounds',
  '2',
  '--hospitals',
  '3',
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
  '--secure-aggregation',
  'false',
  '--patient-budget-epsilon',
  '1000',
  '--deadline-seconds',
  '120',
];

export interface StackFaultTarget {
  /** The function servers a fault may kill (emulator stack only). */
  killFunction(name: 'aggregate' | 'coordinator'): Promise<string>;
  /** Arms the next push of `runId` to be dropped or duplicated; resolves when it happened. */
  armDelivery(kind: 'drop' | 'duplicate', runId: string): { hit: Promise<string>; disarm(): void };
  /**
   * Every delivery of the next update of `runId` to the aggregator is refused (503, never
   * forwarded), as if the aggregator were unreachable for it; `began` resolves with that update.
   */
  armOutage(runId: string): { began: Promise<string>; refused(): string[]; end(): void };
  /** `himas deadletter list|replay --stack emulators --run R --json`: the held letters' event ids. */
  deadLetters(verb: 'list' | 'replay', runId: string): Promise<string[]>;
}

export interface ChaosStack extends Partial<StackFaultTarget> {
  name: ChaosStackName;
  cwd: string;
  trainArgs(runId: string): string[];
  resumeArgs(runId: string): string[];
  snapshot(runId: string): Promise<RunSnapshot>;
  /** The folder holding every hospital's privacy ledger, `<hospital>/<sequence>.json`. */
  ledgerRoot(runId: string): string;
  /** The folder of the stack's blob store (updates, releases), as FileBlobStore lays it out. */
  blobRoot(runId: string): string;
  /** The aggregator's `update.accepted` log lines of the run: `round:hospital` and when (ms). */
  acceptances(runId: string): Acceptance[];
  close(): Promise<void>;
}

export const SERVER_FAULTS: Partial<Record<FaultKind, 'aggregate' | 'coordinator'>> = {
  'kill-aggregate': 'aggregate',
  'kill-coordinator': 'coordinator',
};

/** Embedded: each run has its own home (store, blobs, hospital ledgers); jobs are processes. */
export function embeddedChaosStack(root: string): ChaosStack {
  const cwd = path.join(root, 'embedded');
  mkdirSync(cwd, { recursive: true });
  const home = (runId: string) => path.join(cwd, runId, '.himas');
  const out = (runId: string) => path.join(cwd, runId, 'out');
  return {
    name: 'embedded',
    cwd,
    trainArgs: (runId) => [
      'train',
      ...CHAOS_TRAINING,
      '--home',
      home(runId),
      '--run-id',
      runId,
      '--out',
      out(runId),
    ],
    resumeArgs: (runId) => ['train', '--resume', runId, '--home', home(runId)],
    snapshot: (runId) => snapshotEmbedded(home(runId), runId),
    ledgerRoot: (runId) => path.join(hospitalStateDir(home(runId)), 'ledgers'),
    blobRoot: (runId) => path.join(home(runId), 'blobs'),
    acceptances: (runId) => acceptedUpdates(path.join(out(runId), 'run.log.jsonl'), runId),
    close: async () => undefined,
  };
}

export async function snapshotEmbedded(home: string, runId: string): Promise<RunSnapshot> {
  const platform = await openEmbeddedPlatform({
    home,
    dataDir: '',
    logger: silentLogger,
    withAggregator: false,
  });
  try {
    return await snapshotRun(
      {
        documents: platform.stack.documents,
        models: platform.models,
        ledgers: localHospitalLedger(hospitalStateDir(home)),
      },
      runId,
    );
  } finally {
    await platform.close();
  }
}

/**
 * The emulator stack, started once for all the suite's runs, with the aggregator's pushes going
 * through a relay that drops or duplicates the deliveries it is told to and holds pushes while
 * the aggregate function server is being replaced.
 */
export async function emulatorChaosStack(root: string): Promise<ChaosStack> {
  const cwd = path.join(root, 'emulators');
  mkdirSync(cwd, { recursive: true });
  const home = path.join(cwd, '.himas');
  const up = await spawnHimas(['stack', 'up'], { cwd }).done;
  if (up.status !== 0) throw new Error(`himas stack up failed:\n${up.stderr}`);
  let state: StackState = readStackState(home)!;
  let replacing: Promise<unknown> = Promise.resolve();
  const armed: Array<{ kind: 'drop' | 'duplicate'; runId: string; fire: (what: string) => void }> = [];
  const outages: Array<{ runId: string; eventId?: string; begin: (what: string) => void }> = [];
  // One update's every delivery is refused, not every push of the run: with several refused
  // messages outstanding at once, the Pub/Sub emulator's push loop stopped redelivering them
  // (seen: 4 attempts each in 7 s, then nothing for minutes), so none was ever dead-lettered.
  const refuse = (message: PushedMessage) => {
    const outage = outages.find((o) => o.runId === message.event?.runId);
    if (!outage) return false;
    if (outage.eventId === undefined && message.event!.type === 'update.submitted') {
      outage.eventId = message.event!.id;
      outage.begin(`update of round ${message.event!.round} from ${message.event!.hospitalId}`);
    }
    return outage.eventId === message.event!.id;
  };
  const take = (kind: 'drop' | 'duplicate', message: PushedMessage) => {
    const at = armed.findIndex((a) => a.kind === kind && a.runId === message.event?.runId);
    if (at < 0) return false;
    const [fault] = armed.splice(at, 1);
    fault!.fire(
      `${message.event!.type} of round ${message.event!.round}${message.event!.hospitalId ? ` from ${message.event!.hospitalId}` : ''}`,
    );
    return true;
  };
  const relay: PushRelay = await startPushRelay({
    target: state.aggregateUrl,
    ready: () => replacing,
    drop: (message) => refuse(message) || take('drop', message),
    decide: (message, status) => (status < 300 && take('duplicate', message) ? 503 : status),
  });
  await pushAggregatorThrough(state, relay.url);
  const ports = openStackPorts(stackConfigOf(state));
  const ledgers = path.join(stackFolder(home), 'hospital-state');
  return {
    name: 'emulators',
    cwd,
    trainArgs: (runId) => [
      'train',
      '--stack',
      'emulators',
      ...CHAOS_TRAINING,
      '--run-id',
      runId,
      '--out',
      runId,
    ],
    resumeArgs: (runId) => ['train', '--stack', 'emulators', '--resume', runId],
    snapshot: (runId) =>
      snapshotRun(
        {
          documents: ports.documents,
          models: ports.models,
          ledgers: localHospitalLedger(ledgers),
        },
        runId,
      ),
    ledgerRoot: () => path.join(ledgers, 'ledgers'),
    blobRoot: () => {
      const config = stackConfigOf(state);
      if (config.stack !== 'emulators') throw new Error('the emulator stack records no blob folder');
      return config.blobDir;
    },
    acceptances: (runId) => acceptedUpdates(state.processes.find((p) => p.name === 'aggregate')!.log, runId),
    async killFunction(name) {
      const pid = state.processes.find((p) => p.name === name)!.pid;
      let restarted!: () => void;
      if (name === 'aggregate') replacing = new Promise<void>((resolve) => (restarted = resolve));
      try {
        process.kill(-pid, 'SIGKILL');
        while (groupAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
        state = await restartFunction(home, name);
      } finally {
        restarted?.();
      }
      return `${name} function server (pid ${pid}) killed and restarted`;
    },
    armDelivery(kind, runId) {
      let fire!: (what: string) => void;
      const hit = new Promise<string>((resolve) => (fire = resolve));
      const entry = { kind, runId, fire };
      armed.push(entry);
      return {
        hit,
        disarm: () => {
          const at = armed.indexOf(entry);
          if (at >= 0) armed.splice(at, 1);
        },
      };
    },
    armOutage(runId) {
      let begin!: (what: string) => void;
      const began = new Promise<string>((resolve) => (begin = resolve));
      const outage: (typeof outages)[number] = { runId, begin };
      outages.push(outage);
      return {
        began,
        refused: () => (outage.eventId === undefined ? [] : [outage.eventId]),
        end: () => {
          const at = outages.indexOf(outage);
          if (at >= 0) outages.splice(at, 1);
        },
      };
    },
    async deadLetters(verb, runId) {
      const result = await spawnHimas(
        ['deadletter', verb, '--stack', 'emulators', '--run', runId, '--json'],
        {
          cwd,
        },
      ).done;
      if (result.status !== 0) throw new Error(`himas deadletter ${verb} failed:\n${result.stderr}`);
      const json = JSON.parse(result.stdout) as
        Array<{ eventId: string | null }> | { replayed: Array<{ eventId: string | null }> };
      return (Array.isArray(json) ? json : json.replayed).map((l) => l.eventId ?? '(not a HIMAS event)');
    },
    async close() {
      await relay.close();
      await ports.close();
      const down = await spawnHimas(['stack', 'down'], { cwd }).done;
      if (down.status !== 0) throw new Error(`himas stack down failed:\n${down.stderr}`);
    },
  };
}

/** `himas stack down` for the suite's emulator stack, whether or not it finished starting. */
export async function stopEmulatorStack(root: string): Promise<void> {
  const cwd = path.join(root, 'emulators');
  if (existsSync(path.join(cwd, '.himas'))) await spawnHimas(['stack', 'down'], { cwd }).done;
}

export interface Acceptance {
  key: string;
  at: number;
}

function acceptedUpdates(log: string, runId: string): Acceptance[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('update.accepted'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {}; // a line cut off by SIGKILL
      }
    })
    .filter((e) => e.event === 'update.accepted' && e.runId === runId)
    .map((e) => ({ key: `${String(e.round)}:${String(e.hospitalId)}`, at: Date.parse(String(e.time)) }));
}
