import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { checkGcloudAvailability } from '../../src/local/emulators';
import { median, summarize, type Summary } from '../statistics';

/**
 * Per-round overhead of `himas train` as a user runs it, on the embedded stack and on the emulator
 * stack (gcloud Pub/Sub + Firestore emulators, functions on functions-framework behind push), with
 * the same settings in the same bench run: every hospital job is its own process on both, so the
 * ratio isolates what the stack adds. The slowest hospital's training time is the `seconds` of its
 * `job.trained` log line (model fit only); job start-up therefore counts as overhead, as it does
 * for a Cloud Run job.
 */
export const CLI_OVERHEAD_SETTINGS = {
  hospitals: 3,
  patients: 600,
  seed: 7,
  hiddenUnits: 4,
  localEpochs: 1,
} as const;

export interface StackRounds {
  stack: 'embedded' | 'emulators';
  /** Rounds pooled over every run on this stack: rounds 2.. of each (round 1 pays first-use costs). */
  rounds: number;
  /** `himas train` runs on this stack, interleaved with the other stack's (A B B A). */
  runs: number;
  roundSeconds: Summary;
  slowestTrainingSeconds: Summary;
  overheadSeconds: Summary;
  /** Median over runs of the whole `himas train` process, stack start-up and the report's baselines included. */
  commandSeconds: number;
}

type PerRound = ReturnType<typeof roundOverheads>[number];

/** Pools the steady rounds of several runs on one stack. */
export function poolStackRounds(
  stack: StackRounds['stack'],
  runs: Array<{ rounds: PerRound[]; commandSeconds: number }>,
): StackRounds {
  const steady = runs.flatMap((r) => (r.rounds.length > 2 ? r.rounds.slice(1) : r.rounds));
  return {
    stack,
    rounds: steady.length,
    runs: runs.length,
    roundSeconds: summarize(steady.map((r) => r.roundSeconds)),
    slowestTrainingSeconds: summarize(steady.map((r) => r.slowestTrainingSeconds)),
    overheadSeconds: summarize(steady.map((r) => r.overheadSeconds)),
    commandSeconds: median(runs.map((r) => r.commandSeconds)),
  };
}

/** Per-round overhead on the emulator stack next to the embedded one, or why it was not measured. */
export type EmulatorOverhead =
  | {
      measured: true;
      setup: string;
      hospitals: number;
      embedded: StackRounds;
      emulators: StackRounds;
      /** Median overhead, emulators / embedded. */
      ratio: number;
    }
  | { measured: false; reason: string };

const REPO = path.resolve(__dirname, '..', '..');
const HIMAS = path.join(REPO, 'bin', 'himas.js');

const StatusSchema = z.object({
  rounds: z.array(
    z.object({
      round: z.number(),
      status: z.string(),
      openedAt: z.string(),
      closedAt: z.string().nullable(),
    }),
  ),
});
const TrainedLineSchema = z.object({
  event: z.literal('job.trained'),
  round: z.number(),
  seconds: z.number(),
});

export interface RoundWindow {
  round: number;
  openedAt: string;
  closedAt: string | null;
}

/**
 * Round time (openedAt → closedAt) minus the slowest hospital's training time, per round, from the
 * round documents and the run log's `job.trained` lines. Exported for its unit test.
 */
export function roundOverheads(
  rounds: RoundWindow[],
  logLines: string[],
): Array<{ round: number; roundSeconds: number; slowestTrainingSeconds: number; overheadSeconds: number }> {
  const slowest = new Map<number, number>();
  for (const line of logLines) {
    if (!line.includes('"job.trained"')) continue;
    const parsed = TrainedLineSchema.safeParse(JSON.parse(line));
    if (!parsed.success) continue;
    const { round, seconds } = parsed.data;
    slowest.set(round, Math.max(slowest.get(round) ?? 0, seconds));
  }
  return rounds.map((r) => {
    if (r.closedAt === null) throw new Error(`round ${r.round} did not close`);
    const trained = slowest.get(r.round);
    if (trained === undefined) throw new Error(`round ${r.round}: no job.trained line in the run log`);
    const roundSeconds = (Date.parse(r.closedAt) - Date.parse(r.openedAt)) / 1000;
    return {
      round: r.round,
      roundSeconds,
      slowestTrainingSeconds: trained,
      overheadSeconds: roundSeconds - trained,
    };
  });
}

function himas(args: string[], cwd: string, timeoutSeconds: number) {
  const result = spawnSync(process.execPath, [HIMAS, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutSeconds * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(
      `himas ${args.slice(0, 3).join(' ')} failed (status ${result.status}, signal ${result.signal}): ${result.stderr.slice(-800)}`,
    );
  return result.stdout;
}

/** One `himas train` run on the given stack; the stack is stopped and the folder removed afterwards. */
export function measureStackRounds(
  stack: 'embedded' | 'emulators',
  rounds: number,
): { rounds: PerRound[]; commandSeconds: number } {
  const cwd = mkdtempSync(path.join(os.tmpdir(), `himas-bench-${stack}-`));
  const home = path.join(cwd, '.himas');
  const s = CLI_OVERHEAD_SETTINGS;
  const runId = `bench-${stack}`;
  try {
    const started = Date.now();
    himas(
      [
        'train',
        '--stack',
        stack,
        '--home',
        home,
        '--run-id',
        runId,
        '--out',
        'out',
        '--rounds',
        String(rounds),
        '--hospitals',
        String(s.hospitals),
        '--patients',
        String(s.patients),
        '--seed',
        String(s.seed),
        '--hidden-units',
        String(s.hiddenUnits),
        '--local-epochs',
        String(s.localEpochs),
        '--noise-multiplier',
        '0',
        '--patient-privacy',
        'none',
        '--secure-aggregation',
        'false',
      ],
      cwd,
      900,
    );
    const commandSeconds = (Date.now() - started) / 1000;
    const status = StatusSchema.parse(
      JSON.parse(himas(['status', runId, '--json', '--stack', stack, '--home', home], cwd, 120)),
    );
    const log = readFileSync(path.join(cwd, 'out', 'run.log.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean);
    return { rounds: roundOverheads(status.rounds, log), commandSeconds };
  } finally {
    if (stack === 'emulators') spawnSync(process.execPath, [HIMAS, 'stack', 'down', '--home', home], { cwd });
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Embedded and emulator stacks, same settings, same bench run; "not measured" without gcloud. */
export function benchEmulatorOverhead(rounds: number, log: (msg: string) => void): EmulatorOverhead {
  const availability = checkGcloudAvailability();
  if (!availability.available) {
    const reason = `not measured: gcloud missing or incomplete (${availability.problems.join('; ')})`;
    log(`orchestration emulators: ${reason}`);
    return { measured: false, reason };
  }
  // A B B A: the machine's load drifts over minutes, and each stack sees the same drift.
  const runs: Record<StackRounds['stack'], Array<ReturnType<typeof measureStackRounds>>> = {
    embedded: [],
    emulators: [],
  };
  for (const stack of ['embedded', 'emulators', 'emulators', 'embedded'] as const) {
    const run = measureStackRounds(stack, rounds);
    runs[stack].push(run);
    log(
      `orchestration himas train --stack ${stack}: overhead per round ${run.rounds.map((r) => r.overheadSeconds.toFixed(2)).join(', ')} s`,
    );
  }
  const embedded = poolStackRounds('embedded', runs.embedded);
  const emulators = poolStackRounds('emulators', runs.emulators);
  const s = CLI_OVERHEAD_SETTINGS;
  return {
    measured: true,
    setup:
      `\`himas train --stack embedded|emulators --rounds ${rounds} --hospitals ${s.hospitals} --patients ${s.patients} --seed ${s.seed} ` +
      `--hidden-units ${s.hiddenUnits} --local-epochs ${s.localEpochs} --noise-multiplier 0 --patient-privacy none --secure-aggregation false\`, ` +
      'each stack twice, interleaved (embedded, emulators, emulators, embedded); every hospital job its own process on both stacks',
    hospitals: s.hospitals,
    embedded,
    emulators,
    ratio: emulators.overheadSeconds.median / embedded.overheadSeconds.median,
  };
}
