import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blobPaths } from '../../schemas/documents';
import type { CliResult } from '../e2e/cli-runner';
import { spawnHimas } from '../integration/cli-process';
import {
  CHAOS_TRAINING,
  embeddedChaosStack,
  emulatorChaosStack,
  SERVER_FAULTS,
  snapshotEmbedded,
  type Acceptance,
  stopEmulatorStack,
  type ChaosStack,
} from './chaos-stacks';
import { planIteration, type ChaosStackName, type PlannedFault } from './fault-plan';
import { watchLedgers } from './ledger-watch';
import { environmentOf, hospitalJobs } from './process-tree';
import { compareToClean, type ExpectedRepeat, type RunSnapshot } from './run-snapshot';
import { seededRandom, type SeededRandom } from './seeded-random';

/**
 * The chaos suite: iterations of one training run each, with 1 to 3 faults injected at seeded
 * random moments, then `--resume` until the run completes; each run is compared with a clean run
 * of the same training seed (see run-snapshot.ts for what must match).
 */
export interface ChaosOptions {
  seed: number;
  /** Faults to inject in total, split between the stacks. */
  faults: number;
  stacks: ChaosStackName[];
  /** A run must complete within this many seconds of its last fault. */
  maxRecoverySeconds: number;
  /** Attempts (the first run plus resumes) before an iteration counts as not completing. */
  maxAttempts?: number;
  log?: (line: string) => void;
  /** Kept for inspection instead of deleted (the default when an iteration failed). */
  keepFiles?: boolean;
}

export interface InjectedFault {
  kind: PlannedFault['kind'];
  /** Seconds since the iteration started. */
  atSeconds: number;
  detail: string;
  /** kill-job-charged: the charge the killed job had paid, which its retry must pay again. */
  repeat?: ExpectedRepeat;
  /** A killed training job's `round:hospital`: the work the fault destroyed. */
  killedWork?: string;
  /**
   * Seconds from this fault until the run had back what it destroyed: for a killed training job,
   * until that hospital's update of that round was accepted; otherwise until an update not accepted
   * before the fault was, or the run completed (docs/operations.md, "Recovery time"). Undefined
   * when the run did not complete.
   */
  progressSeconds?: number;
  /** When it landed (ms since the epoch). */
  at: number;
}

export interface IterationResult {
  stack: ChaosStackName;
  /** `--seed` that reproduces this iteration's schedule as the first of a suite. */
  seed: number;
  runId: string;
  planned: PlannedFault[];
  injected: InjectedFault[];
  attempts: number;
  completed: boolean;
  /** Seconds from the last injected fault to the run's completion. */
  recoverySeconds: number | undefined;
  /** Seconds from the first attempt's start to the run's completion, over every attempt. */
  wallSeconds: number | undefined;
  /** wallSeconds minus the same stack's faultless run (ChaosReport.baselineSeconds). */
  extraSeconds: number | undefined;
  chargedRetries: number;
  problems: string[];
}

export interface ChaosReport {
  iterations: IterationResult[];
  faults: number;
  recovery: { medianSeconds: number; worstSeconds: number } | undefined;
  /** Per stack, the wall time of one run of the suite's settings with no fault. */
  baselineSeconds: Partial<Record<ChaosStackName, number>>;
  failures: IterationResult[];
  root: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const root = mkdtempSync(path.join(os.tmpdir(), 'himas-chaos-'));
  log(
    `chaos: seed ${options.seed}, ${options.faults} faults on ${options.stacks.join(' and ')}, files in ${root}`,
  );
  const clean = await cleanRun(root);
  log(`chaos: clean run in ${clean.seconds.toFixed(1)} s`);
  const iterations: IterationResult[] = [];
  const baselineSeconds: ChaosReport['baselineSeconds'] = {};
  let seed = options.seed;
  for (const [index, name] of options.stacks.entries()) {
    // The first stack takes the larger half of an odd number of faults.
    const share = Math.ceil(
      (options.faults - iterations.reduce((n, i) => n + i.injected.length, 0)) /
        (options.stacks.length - index),
    );
    // Interrupted (Ctrl-C, a CI timeout), even while it starts: the emulator stack's processes go
    // down with the suite.
    let stack: ChaosStack | undefined;
    const interrupted = () => {
      // The running `himas train` is its own process group: it would outlive the suite.
      for (const pid of running) killGroup(pid);
      void (stack ? stack.close() : stopEmulatorStack(root)).finally(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    try {
      stack = name === 'embedded' ? embeddedChaosStack(root) : await emulatorChaosStack(root);
      const baseline = await faultlessRun(stack, clean.snapshot);
      baselineSeconds[name] = baseline;
      log(`chaos: ${name}: a run with no fault takes ${baseline.toFixed(1)} s`);
      let injected = 0;
      while (injected < share) {
        const result = await runIteration(stack, seed, {
          maxFaults: share - injected,
          // The clean run's jobs run in-process; a chaos run starts each job as a process (seconds each).
          runSeconds: clean.seconds * (name === 'emulators' ? 6 : 4),
          maxAttempts: options.maxAttempts ?? 8,
          maxRecoverySeconds: options.maxRecoverySeconds,
          clean: clean.snapshot,
          baselineSeconds: baseline,
          log,
        });
        iterations.push(result);
        injected += result.injected.length;
        seed++;
        // A run that failed before any fault landed says the stack itself is broken: stop.
        if (!result.completed && result.injected.length === 0) break;
      }
    } finally {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await stack?.close();
    }
  }
  const failures = iterations.filter((i) => i.problems.length > 0);
  const recoveries = iterations
    .map((i) => i.recoverySeconds)
    .filter((s): s is number => s !== undefined)
    .sort((a, b) => a - b);
  if (failures.length === 0 && !options.keepFiles) rmSync(root, { recursive: true, force: true });
  return {
    iterations,
    faults: iterations.reduce((n, i) => n + i.injected.length, 0),
    recovery:
      recoveries.length > 0
        ? { medianSeconds: median(recoveries), worstSeconds: recoveries[recoveries.length - 1]! }
        : undefined,
    baselineSeconds,
    failures,
    root,
  };
}

/**
 * One run of the suite's settings on the stack with no fault: the wall time a faulted run is
 * measured against (same stack, same job processes, same machine load as near as can be). It must
 * end as the clean run did too, or the stack itself is broken.
 */
async function faultlessRun(stack: ChaosStack, clean: RunSnapshot): Promise<number> {
  const runId = `chaos-${stack.name}-faultless`;
  const attempt = startAttempt(stack, stack.trainArgs(runId));
  const result = await attempt.done;
  if (!completed(result)) throw new Error(`the faultless ${stack.name} run failed:\n${tail(result.stderr)}`);
  const problems = compareToClean(clean, await stack.snapshot(runId)).problems;
  if (problems.length > 0)
    throw new Error(`the faultless ${stack.name} run differs from the clean run:\n${problems.join('\n')}`);
  return result.seconds;
}

/** The clean run: embedded, hospital jobs in-process (the same code gives the same bits on the emulators). */
async function cleanRun(root: string): Promise<{ snapshot: RunSnapshot; seconds: number }> {
  const home = path.join(root, 'clean', '.himas');
  const result = await spawnHimas(
    [
      'train',
      ...CHAOS_TRAINING,
      '--job-runner',
      'in-process',
      '--home',
      home,
      '--run-id',
      'clean',
      '--out',
      path.join(root, 'clean', 'out'),
    ],
    { cwd: root },
  ).done;
  if (!completed(result)) throw new Error(`the clean run failed:\n${result.stderr}`);
  return { snapshot: await snapshotEmbedded(home, 'clean'), seconds: result.seconds };
}

interface Attempt {
  pid: number;
  done: Promise<CliResult>;
  exited: boolean;
  stderr: () => string;
}

/**
 * Attempts the local job runner gives a job execution (src/local/connectors/stack-connectors.ts,
 * `jobAttempts ?? 2`). The suite never kills a job on its last attempt: that exhausts the retry
 * budget, and the round then fails closed by design (a job failing every attempt is the
 * delivery-load benchmark's case, not a crash to recover from).
 */
const JOB_ATTEMPTS = 2;

const onLastAttempt = (pid: number) =>
  Number(environmentOf(pid).CLOUD_RUN_TASK_ATTEMPT ?? 0) >= JOB_ATTEMPTS - 1;

/** The `himas train` process groups of attempts still running, for an interrupted suite to end. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function startAttempt(stack: ChaosStack, args: string[]): Attempt {
  const { child, done } = spawnHimas(args, { cwd: stack.cwd });
  running.add(child.pid!);
  void done.then(() => running.delete(child.pid!));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const attempt: Attempt = { pid: child.pid!, done, exited: false, stderr: () => stderr };
  void done.then(() => (attempt.exited = true));
  return attempt;
}

const completed = (result: CliResult) => result.status === 0 && /Run \S+ completed/.test(result.stdout);

async function runIteration(
  stack: ChaosStack,
  seed: number,
  options: {
    maxFaults: number;
    runSeconds: number;
    maxAttempts: number;
    maxRecoverySeconds: number;
    clean: RunSnapshot;
    baselineSeconds: number;
    log: (line: string) => void;
  },
): Promise<IterationResult> {
  const random = seededRandom(seed);
  const planned = planIteration(random, stack.name, options);
  const runId = `chaos-${stack.name}-${seed}`;
  const started = Date.now();
  const since = () => (Date.now() - started) / 1000;
  const problems: string[] = [];
  const injected: InjectedFault[] = [];
  options.log(`chaos: ${runId}: ${planned.map((f) => `${f.kind} after ${f.delaySeconds} s`).join(', ')}`);

  let attempt = startAttempt(stack, stack.trainArgs(runId));
  let attempts = 1;
  let finished: CliResult | undefined;
  let lastFaultAt: number | undefined;
  const pending = [...planned];
  for (;;) {
    while (pending.length > 0 && !attempt.exited) {
      const fault = pending[0]!;
      await Promise.race([sleep(fault.delaySeconds * 1000), attempt.done]);
      if (attempt.exited) break;
      const landed = await inject(stack, fault, attempt, runId, random);
      if (landed === undefined) break; // the attempt ended before the fault could land
      pending.shift();
      lastFaultAt = Date.now();
      injected.push({ kind: fault.kind, atSeconds: since(), at: lastFaultAt, ...landed });
      options.log(`chaos: ${runId}: ${since().toFixed(1)} s ${fault.kind}: ${landed.detail}`);
      if (fault.kind === 'kill-cli') break;
    }
    const result = await attempt.done;
    if (completed(result)) {
      finished = result;
      break;
    }
    if (attempts >= options.maxAttempts) {
      problems.push(`did not complete in ${attempts} attempts; last said:\n${tail(result.stderr)}`);
      break;
    }
    const killed = result.status === null;
    // Killed before it recorded the run: there is nothing to resume, the operator runs the same
    // command again (and a resume says so in one line).
    const neverRecorded = /no HIMAS store in .* yet|no run '/.test(result.stderr);
    if (!killed && !neverRecorded)
      options.log(
        `chaos: ${runId}: attempt ${attempts} ended (${result.status}) without being killed:\n${tail(result.stderr)}`,
      );
    attempt = startAttempt(stack, neverRecorded ? stack.trainArgs(runId) : stack.resumeArgs(runId));
    attempts++;
  }
  const finishedAt = Date.now();
  const recoverySeconds =
    finished && lastFaultAt !== undefined ? (finishedAt - lastFaultAt) / 1000 : undefined;
  const wallSeconds = finished ? (finishedAt - started) / 1000 : undefined;
  if (recoverySeconds !== undefined && recoverySeconds > options.maxRecoverySeconds)
    problems.push(
      `finished ${recoverySeconds.toFixed(1)} s after its last fault (${injected.at(-1)!.kind}), more than ${options.maxRecoverySeconds} s`,
    );
  let chargedRetries = 0;
  if (finished) {
    const comparison = compareToClean(
      options.clean,
      await stack.snapshot(runId),
      // Slots name the run (evaluation:<version>); the snapshots write it as <run>.
      injected.flatMap((f) =>
        f.repeat
          ? [{ ...f.repeat, slots: f.repeat.slots.map((slot) => slot.split(runId).join('<run>')) }]
          : [],
      ),
    );
    problems.push(...comparison.problems);
    chargedRetries = comparison.chargedRetries;
    const accepted = stack.acceptances(runId);
    const keys = accepted.map((a) => a.key);
    for (const key of new Set(keys))
      if (keys.filter((k) => k === key).length > 1)
        problems.push(`the aggregator accepted the update of round:hospital ${key} more than once`);
    for (const fault of injected) fault.progressSeconds = progressAfter(fault, accepted, finishedAt);
  }
  options.log(
    `chaos: ${runId}: ${problems.length === 0 ? 'ok' : 'FAILED'}, ${injected.length} fault(s), ${attempts} attempt(s)` +
      (recoverySeconds !== undefined
        ? `, finished ${recoverySeconds.toFixed(1)} s after the last fault (${wallSeconds!.toFixed(1)} s in all, ${(wallSeconds! - options.baselineSeconds).toFixed(1)} s more than with no fault; new progress ${injected.map((f) => `${f.progressSeconds!.toFixed(1)} s`).join(', ')} after each fault)`
        : '') +
      `, ${chargedRetries} charged retr${chargedRetries === 1 ? 'y' : 'ies'}` +
      problems.map((p) => `\n  problem: ${p}`).join(''),
  );
  return {
    stack: stack.name,
    seed,
    runId,
    planned,
    injected,
    attempts,
    completed: finished !== undefined,
    recoverySeconds,
    wallSeconds,
    extraSeconds: wallSeconds === undefined ? undefined : wallSeconds - options.baselineSeconds,
    chargedRetries,
    problems,
  };
}

/**
 * Seconds from a fault until the run had back what the fault destroyed: the acceptance of the
 * killed job's update, else the first acceptance after the fault of an update not accepted before
 * it, else the run's completion.
 */
function progressAfter(fault: InjectedFault, accepted: Acceptance[], finishedAt: number): number {
  const after = accepted.filter((a) => a.at > fault.at);
  const before = new Set(accepted.filter((a) => a.at <= fault.at).map((a) => a.key));
  const next = fault.killedWork
    ? after.filter((a) => a.key === fault.killedWork)
    : after.filter((a) => !before.has(a.key));
  return (Math.min(finishedAt, ...next.map((a) => a.at)) - fault.at) / 1000;
}

/** `round:hospital` of a running training job, from the environment the runner gave it. */
function trainingWork(pid: number): string | undefined {
  const env = environmentOf(pid);
  return env.HIMAS_JOB_MODE === 'train' && env.HIMAS_ROUND
    ? `${env.HIMAS_ROUND}:${env.HIMAS_HOSPITAL_ID}`
    : undefined;
}

/** Injects one fault into the running attempt; undefined when the attempt ended first. */
async function inject(
  stack: ChaosStack,
  fault: PlannedFault,
  attempt: Attempt,
  runId: string,
  random: SeededRandom,
): Promise<{ detail: string; repeat?: ExpectedRepeat; killedWork?: string } | undefined> {
  const lastLine = () => attempt.stderr().trim().split('\n').at(-1)?.slice(0, 100) ?? '';
  const landed = (detail: string | undefined) => (detail === undefined ? undefined : { detail });
  switch (fault.kind) {
    case 'kill-cli':
      process.kill(-attempt.pid, 'SIGKILL');
      return landed(`himas train process tree killed after "${lastLine()}"`);
    case 'kill-job':
      // A job runs for seconds of each round: wait for one to be running.
      while (!attempt.exited) {
        const jobs = hospitalJobs(attempt.pid).filter((pid) => !onLastAttempt(pid));
        if (jobs.length > 0) {
          const pid = random.pick(jobs);
          try {
            process.kill(pid, 'SIGKILL');
            return landed(
              `hospital job pid ${pid} (1 of ${jobs.length} running) killed after "${lastLine()}"`,
            );
          } catch {
            // it finished meanwhile: look again
          }
        }
        await sleep(50);
      }
      return undefined;
    case 'kill-job-charged':
      return killAfterCharge(stack, attempt, runId);
    case 'aggregator-outage':
      return landed(await outageThenReplay(stack, attempt, runId));
    case 'kill-aggregate':
    case 'kill-coordinator':
      return landed(await stack.killFunction!(SERVER_FAULTS[fault.kind]!));
    case 'drop-delivery':
    case 'duplicate-delivery': {
      const armed = stack.armDelivery!(fault.kind === 'drop-delivery' ? 'drop' : 'duplicate', runId);
      const hit = await Promise.race([armed.hit, attempt.done.then(() => undefined)]);
      armed.disarm();
      return landed(
        hit === undefined
          ? undefined
          : `${fault.kind === 'drop-delivery' ? 'dropped' : 'duplicated'} the push of ${hit}`,
      );
    }
  }
}

/**
 * Waits for a hospital job of this run to write a new use to its ledger (it has paid and is about
 * to read its data), then SIGKILLs that job at once: its update never leaves, the runner retries
 * it, and the retry pays again. The ledger folders are polled every 10 ms and the running jobs
 * (a scan of /proc, the slow part) are looked up every 200 ms beforehand, so the kill lands within
 * milliseconds of the charge. If the job had nevertheless stored its output (update or evaluation
 * release) before it died, its retry may re-send that without reading again: the repeat is then
 * not required (and still checked as a repeat if it comes).
 */
async function killAfterCharge(
  stack: ChaosStack,
  attempt: Attempt,
  runId: string,
): Promise<{ detail: string; repeat: ExpectedRepeat; killedWork?: string } | undefined> {
  const ledgers = watchLedgers(stack.ledgerRoot(runId));
  let jobs = new Map<string, number>();
  let scannedAt = 0;
  const scan = () => {
    jobs = new Map();
    for (const pid of hospitalJobs(attempt.pid)) {
      const env = environmentOf(pid);
      if (env.HIMAS_RUN_ID === runId && env.HIMAS_HOSPITAL_ID && !onLastAttempt(pid))
        jobs.set(env.HIMAS_HOSPITAL_ID, pid);
    }
    scannedAt = Date.now();
  };
  while (!attempt.exited) {
    if (Date.now() - scannedAt > 200) scan();
    for (const entry of ledgers.fresh()) {
      if (entry.runId !== runId || entry.kind !== 'use') continue;
      let job = jobs.get(entry.hospitalId);
      if (job === undefined || environmentOf(job).HIMAS_HOSPITAL_ID !== entry.hospitalId) {
        scan(); // started since the last look
        job = jobs.get(entry.hospitalId);
      }
      if (job === undefined) continue; // its job already finished: wait for the next charge
      const killedWork = trainingWork(job);
      try {
        process.kill(job, 'SIGKILL');
      } catch {
        continue; // it exited between the look and the kill
      }
      const stored = entry.slots
        .map((slot) => outputOf(runId, entry.hospitalId, slot))
        .filter((p): p is string => p !== undefined && existsSync(path.join(stack.blobRoot(runId), p)));
      return {
        detail:
          `${entry.hospitalId}'s job (pid ${job}) killed right after it charged ${entry.slots.join(', ')} (ledger entry ${entry.sequence})` +
          (stored.length > 0
            ? `, but it had already stored ${stored.join(', ')}: a repeat is not required`
            : ''),
        repeat: { hospitalId: entry.hospitalId, slots: entry.slots, optional: stored.length > 0 },
        killedWork,
      };
    }
    await sleep(10);
  }
  return undefined;
}

/** The blob a slot's data read produces (what lets a retry re-send instead of reading again). */
function outputOf(runId: string, hospitalId: string, slot: string): string | undefined {
  const train = /^train:(\d+)$/.exec(slot);
  if (train) return blobPaths.update(runId, Number(train[1]), hospitalId);
  if (slot.startsWith('evaluation:'))
    return blobPaths.release(runId, hospitalId, `evaluation-${slot.slice('evaluation:'.length)}`);
  return undefined;
}

/**
 * The aggregator unreachable for longer than its retry window: every push of the run is refused
 * from the next update on, until each refused message has been dead-lettered (it waits on its
 * topic's hold subscription); then the aggregator is back and the operator replays them with
 * `himas deadletter replay`, which must bring the updates into their round.
 */
async function outageThenReplay(
  stack: ChaosStack,
  attempt: Attempt,
  runId: string,
): Promise<string | undefined> {
  const outage = stack.armOutage!(runId);
  try {
    const began = await Promise.race([outage.began, attempt.done.then(() => undefined)]);
    if (began === undefined) return undefined;
    const started = Date.now();
    for (;;) {
      await sleep(3000);
      const held = new Set(await stack.deadLetters!('list', runId));
      if (outage.refused().every((id) => held.has(id))) break;
      if (attempt.exited) return undefined;
    }
    const refused = outage.refused();
    outage.end();
    const replayed = await stack.deadLetters!('replay', runId);
    return `aggregator unreachable from the ${began} for ${((Date.now() - started) / 1000).toFixed(0)} s, until its ${refused.length} refused message(s) were dead-lettered; replayed ${replayed.length}: ${replayed.join(', ')}`;
  } finally {
    outage.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tail = (text: string) => text.trim().split('\n').slice(-5).join('\n');

function median(sorted: number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
