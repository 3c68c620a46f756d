import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { paths, RoundDocumentSchema } from '../../schemas/documents';
import { TrainingConfigSchema } from '../../schemas/training-config';
import { FileHospitalKeyStore } from '../../src/adapters/keys/file-hospital-key-store';
import { hospitalStateDir, localHospitalLedger } from '../../src/adapters/ledger/local-hospital-ledger';
import { generateCohort, type CohortRecord } from '../../src/core/data';
import { initializeBackend } from '../../src/core/model';
import { openEmbeddedPlatform } from '../../src/local/embedded-platform';
import { InProcessJobRunner } from '../../src/local/jobs/in-process-job-runner';
import { runTrainingWorkflow } from '../../src/local/workflow-training';
import { silentLogger } from '../../src/logging/logger';
import { systemClock } from '../../src/ports/clock';
import type { CohortSource } from '../../src/ports/cohort-source';
import type { JobRequest, JobResult, JobRunner } from '../../src/ports/job-runner';
import { benchEmulatorOverhead, type EmulatorOverhead } from './orchestration-emulator';
import { profileWhile, summarizeProfile, type ProfileSummary } from '../cpu-profile';
import { fitPowerLaw, summarize, type PowerLawFit, type Summary } from '../statistics';

/**
 * Orchestration on the embedded stack: workflows/federated-training.yaml on the local engine, the
 * real coordinator, DuckDB documents and bus, the real aggregation function fed by the bus, and
 * the real hospital job code run in process (InProcessJobRunner). What is simulated: every
 * hospital reads the same tiny in-memory cohort (TINY_PATIENTS stays of one synthetic hospital)
 * and trains a tiny MLP for one epoch, so the round is almost all orchestration.
 */
export const TINY_PATIENTS = 160;
export const TINY_CONFIG = {
  localEpochs: 1,
  hiddenUnits: [4],
  batchSize: 64,
  deadlineSeconds: 3600,
  aggregation: 'dp-fedavg',
  secureAggregation: false,
  noiseMultiplier: 0,
  patientPrivacy: 'none',
} as const;

/** One round as the workflow lived it, from the round document and the job runner's clock. */
export interface RoundTiming {
  round: number;
  /** From the round's openedAt to the next round's openedAt (or the first evaluation job's start). */
  cycleSeconds: number;
  /** From the first training job's start to the last one's end (jobs overlap: one thread). */
  trainingSpanSeconds: number;
  /** The longest single training job (wall time, overlapping others). */
  slowestJobSeconds: number;
  /** cycleSeconds − trainingSpanSeconds: the part of the round with no hospital job running. */
  overheadSeconds: number;
  /** Where the overhead goes: openedAt → first training job starts (announce, job dispatch). */
  dispatchSeconds: number;
  /** Last training job ends → the aggregator closes the round (aggregation, model publication). */
  closeSeconds: number;
  /** closedAt → the next round opens or evaluation starts (workflow poll, bookkeeping). */
  afterCloseSeconds: number;
  /** Hospitals whose update the closed round included (the round document's participants). */
  participants: number;
}

export interface ScenarioResult {
  hospitals: number;
  rounds: number;
  roundTimings: RoundTiming[];
  /** The whole workflow: statistics jobs, model initialisation, rounds, evaluation, finish. */
  workflowSeconds: number;
  /** process.resourceUsage().maxRSS of the child process that ran only this scenario (bytes). */
  peakRssBytes: number;
  /** The same before the platform opened (tsx, TensorFlow.js and DuckDB loaded). */
  startRssBytes: number;
  /** CPU profile of the workflow (self time), when asked for. */
  profile?: ProfileSummary;
  /** User + system CPU seconds of the child process. */
  cpuSeconds: number;
}

/** Every hospital id gets the same tiny cohort: the simulated part of the scaling benchmark. */
export class SharedTinyCohort implements CohortSource {
  private readonly splits: { train: CohortRecord[]; test: CohortRecord[] };
  constructor() {
    const hospital = generateCohort({ preset: 'archetypes', hospitals: 1, patients: TINY_PATIENTS, seed: 5 })
      .hospitals[0];
    this.splits = { train: hospital.train, test: hospital.test };
  }
  read(_hospitalId: string, split: 'train' | 'test'): Promise<CohortRecord[]> {
    return Promise.resolve(this.splits[split]);
  }
  describe(): { kind: 'csv'; location: string } {
    return { kind: 'csv', location: 'memory:shared-tiny-cohort' };
  }
}

interface JobSpan {
  mode: string;
  round: number | null;
  start: number;
  end: number;
}

function recordingRunner(inner: JobRunner, spans: JobSpan[]): JobRunner {
  return {
    async run(request: JobRequest): Promise<JobResult> {
      const start = Date.now();
      const result = await inner.run(request);
      if (result.status !== 'succeeded')
        throw new Error(`${request.jobName} failed: ${result.error ?? 'no error given'}`);
      const round = request.env.HIMAS_ROUND;
      spans.push({
        mode: request.env.HIMAS_JOB_MODE,
        round: round ? Number(round) : null,
        start,
        end: Date.now(),
      });
      return result;
    },
  };
}

/** One hidden layer of h units on the reference features: P = h·(inputs + 2) + 1 parameters. */
export function hiddenUnitsForParams(params: number, inputDim: number): number {
  return Math.max(1, Math.round((params - 1) / (inputDim + 2)));
}

/**
 * Runs one federated run with K hospitals and R rounds on a fresh embedded platform in this process.
 * `hiddenUnits` replaces the tiny model's (to time a round at a given parameter count).
 */
export async function runEmbeddedScenario(
  hospitals: number,
  rounds: number,
  profile = false,
  hiddenUnits: number[] = [...TINY_CONFIG.hiddenUnits],
): Promise<ScenarioResult> {
  const startRssBytes = process.resourceUsage().maxRSS * 1024;
  await initializeBackend('cpu');
  const home = mkdtempSync(path.join(os.tmpdir(), 'himas-bench-orch-'));
  const platform = await openEmbeddedPlatform({
    home,
    dataDir: home,
    logger: silentLogger,
    jobs: 'in-process',
  });
  try {
    const spans: JobSpan[] = [];
    const jobs = recordingRunner(
      new InProcessJobRunner({
        documents: platform.stack.documents,
        blobs: platform.stack.blobs,
        events: platform.stack.events,
        models: platform.models,
        cohorts: new SharedTinyCohort(),
        keys: new FileHospitalKeyStore(path.join(home, 'keys')),
        ledger: localHospitalLedger(hospitalStateDir(home)),
        clock: systemClock,
        logger: silentLogger,
      }),
      spans,
    );
    const ids = Array.from({ length: hospitals }, (_, k) => `sim${String(k).padStart(4, '0')}`);
    const runId = `bench-k${hospitals}`;
    const started = Date.now();
    const workflow = () =>
      runTrainingWorkflow(
        { ...platform, jobs },
        {
          runId,
          hospitals: ids,
          config: TrainingConfigSchema.parse({ ...TINY_CONFIG, hiddenUnits, rounds }),
          dataDir: home,
          declaredTrainStays: Object.fromEntries(ids.map((id) => [id, 100])),
          resume: false,
        },
      );
    let outcome: Awaited<ReturnType<typeof workflow>> | undefined;
    const cpuProfile = profile
      ? await profileWhile(async () => {
          outcome = await workflow();
        }, 1000)
      : undefined;
    if (!profile) outcome = await workflow();
    const workflowSeconds = (Date.now() - started) / 1000;
    if (!outcome) throw new Error('workflow did not run');
    if (!outcome.ok) throw new Error(`workflow failed: ${JSON.stringify(outcome).slice(0, 500)}`);
    const opened: number[] = [];
    const closed: number[] = [];
    const participants: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      const doc = RoundDocumentSchema.parse(await platform.stack.documents.get(paths.round(runId, r)));
      if (doc.status !== 'closed' || doc.closedAt === null) throw new Error(`round ${r} ended ${doc.status}`);
      opened.push(Date.parse(doc.openedAt));
      closed.push(Date.parse(doc.closedAt));
      participants.push(doc.participants.length);
    }
    const firstEvaluation = Math.min(...spans.filter((s) => s.mode === 'evaluate').map((s) => s.start));
    const roundTimings = opened.map((openedAt, i) => {
      const round = i + 1;
      const next = i + 1 < opened.length ? opened[i + 1] : firstEvaluation;
      const training = spans.filter((s) => s.mode === 'train' && s.round === round);
      if (training.length !== hospitals) throw new Error(`round ${round}: ${training.length} training jobs`);
      const firstStart = Math.min(...training.map((s) => s.start));
      const lastEnd = Math.max(...training.map((s) => s.end));
      const cycle = (next - openedAt) / 1000;
      return {
        round,
        cycleSeconds: cycle,
        trainingSpanSeconds: (lastEnd - firstStart) / 1000,
        slowestJobSeconds: Math.max(...training.map((s) => (s.end - s.start) / 1000)),
        overheadSeconds: cycle - (lastEnd - firstStart) / 1000,
        dispatchSeconds: (firstStart - openedAt) / 1000,
        closeSeconds: (closed[i] - lastEnd) / 1000,
        afterCloseSeconds: (next - closed[i]) / 1000,
        participants: participants[i],
      };
    });
    return {
      hospitals,
      rounds,
      roundTimings,
      workflowSeconds,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      startRssBytes,
      cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      ...(cpuProfile ? { profile: summarizeProfile(cpuProfile, 10) } : {}),
    };
  } finally {
    await platform.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export interface OrchestrationResult {
  /** What is real and what is simulated, said in the report. */
  setup: string;
  /** Per-round overhead at K = overheadHospitals over several rounds of one run. */
  overhead: {
    hospitals: number;
    rounds: number;
    cycleSeconds: Summary;
    trainingSpanSeconds: Summary;
    overheadSeconds: Summary;
    /** Overhead / cycle, per round. */
    overheadShare: Summary;
    dispatchSeconds: Summary;
    closeSeconds: Summary;
    afterCloseSeconds: Summary;
  };
  /** Round 2 of a two-round run at each K (round 1 pays first-use costs), each in a fresh child process. */
  scaling: Array<{
    hospitals: number;
    /** Which round of the run was timed: 2 normally; 1 where a second round would not fit the time budget (K = 1000). */
    timedRound?: number;
    /** When the run that measured this K started (points can come from different bench runs, merged). */
    measuredAt?: string;
    roundSeconds: number;
    trainingSpanSeconds: number;
    overheadSeconds: number;
    dispatchSeconds: number;
    closeSeconds: number;
    afterCloseSeconds: number;
    workflowSeconds: number;
    peakRssBytes: number;
    startRssBytes: number;
  }>;
  /** log-log slope of one round's time against K (over every K measured). */
  roundTimeGrowth: PowerLawFit | null;
  /** log-log slope of (peak RSS − start RSS) against K. */
  memoryGrowth: PowerLawFit | null;
  skipped: Array<{ hospitals: number; reason: string }>;
  /** CPU seconds of every child process this suite ran. */
  childCpuSeconds: number;
  /** CPU profile of one scaling run (the whole workflow) with where its round's time went. */
  profile?: { hospitals: number; summary: ProfileSummary; roundTiming: RoundTiming };
  /** Per-round overhead on the Pub/Sub + Firestore emulator stack, next to the embedded figure of the same run. */
  emulator?: EmulatorOverhead;
}

const CHILD = path.resolve(__dirname, '..', 'orchestration-child.ts');
const RUN_TS = path.resolve(__dirname, '..', '..', 'bin', 'run-ts.js');

/** Growth exponents of one round's time and of peak RSS above the start, over every K measured. */
export function scalingGrowth(
  scaling: OrchestrationResult['scaling'],
): Pick<OrchestrationResult, 'roundTimeGrowth' | 'memoryGrowth'> {
  const fit = (ys: number[]) =>
    scaling.length >= 2 && ys.every((y) => y > 0)
      ? fitPowerLaw(
          scaling.map((s) => s.hospitals),
          ys,
        )
      : null;
  return {
    roundTimeGrowth: fit(scaling.map((s) => s.roundSeconds)),
    memoryGrowth: fit(scaling.map((s) => s.peakRssBytes - s.startRssBytes)),
  };
}

/** A scaling run that did not finish within its budget: recorded as "not measured", with the budget. */
export class ScenarioTimeout extends Error {
  constructor(
    readonly hospitals: number,
    readonly rounds: number,
    readonly timeoutSeconds: number,
    /** The child's peak RSS (Linux VmHWM) when it was killed; 0 where /proc is unavailable. */
    readonly peakRssBytes: number,
  ) {
    super(`K = ${hospitals}, ${rounds} round(s): no result within ${timeoutSeconds} s`);
  }
}

/** The peak resident set size of a live process so far (Linux /proc), in bytes; 0 if unreadable. */
function peakRssOf(pid: number | undefined): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs a scenario in a fresh `node` so its peak RSS is its own. Asynchronous so that the child's
 * peak memory can be sampled while it runs: a run killed at its timeout still reports it.
 */
export async function runScenarioInChild(
  hospitals: number,
  rounds: number,
  timeoutSeconds: number,
  profile = false,
): Promise<ScenarioResult> {
  const args = [RUN_TS, CHILD, String(hospitals), String(rounds), ...(profile ? ['--profile'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  let peakRssBytes = 0;
  const sample = () => (peakRssBytes = Math.max(peakRssBytes, peakRssOf(child.pid)));
  const sampler = setInterval(sample, 2000);
  let timedOut = false;
  const timer = setTimeout(() => {
    sample();
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutSeconds * 1000);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  clearInterval(sampler);
  clearTimeout(timer);
  if (timedOut) throw new ScenarioTimeout(hospitals, rounds, timeoutSeconds, peakRssBytes);
  if (exit.code !== 0) {
    throw new Error(
      `orchestration scenario K=${hospitals} failed (status ${exit.code}, signal ${exit.signal}): ${stderr.slice(-800)}`,
    );
  }
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ScenarioResult;
}

export interface OrchestrationOptions {
  overheadRounds: number;
  scalingHospitals: number[];
  /** Stop growing K once one round would take longer than this. */
  maxRoundSeconds: number;
  /** The K whose run is CPU-profiled (sampled every 1 ms) for "where the time goes". */
  profileHospitals?: number;
  /** From this K on, time round 1 of a one-round run: first-use costs are noise next to minutes of round. */
  singleRoundFromHospitals?: number;
  /** A scaling child still running after this long is killed and its K recorded as not measured. */
  scenarioTimeoutSeconds?: number;
  /** Rounds of `himas train` on the embedded and the emulator stack (over a minute: not in quick mode). */
  emulatorRounds?: number;
  log: (msg: string) => void;
}

export async function benchOrchestration(options: OrchestrationOptions): Promise<OrchestrationResult> {
  const overheadRun = await runScenarioInChild(3, options.overheadRounds, 600);
  let childCpuSeconds = overheadRun.cpuSeconds;
  // Round 1 pays first-use costs (JIT, model compilation): report rounds 2.. when there are several.
  const steady =
    overheadRun.roundTimings.length > 2 ? overheadRun.roundTimings.slice(1) : overheadRun.roundTimings;
  const overhead = {
    hospitals: 3,
    rounds: steady.length,
    cycleSeconds: summarize(steady.map((t) => t.cycleSeconds)),
    trainingSpanSeconds: summarize(steady.map((t) => t.trainingSpanSeconds)),
    overheadSeconds: summarize(steady.map((t) => t.overheadSeconds)),
    overheadShare: summarize(steady.map((t) => t.overheadSeconds / t.cycleSeconds)),
    dispatchSeconds: summarize(steady.map((t) => t.dispatchSeconds)),
    closeSeconds: summarize(steady.map((t) => t.closeSeconds)),
    afterCloseSeconds: summarize(steady.map((t) => t.afterCloseSeconds)),
  };
  options.log(
    `orchestration K=3: round ${(overhead.cycleSeconds.median * 1000).toFixed(0)} ms, overhead ${(overhead.overheadSeconds.median * 1000).toFixed(0)} ms`,
  );
  const emulator = options.emulatorRounds
    ? measureEmulatorOverhead(options.emulatorRounds, options.log)
    : undefined;
  const scaling: OrchestrationResult['scaling'] = [];
  const skipped: OrchestrationResult['skipped'] = [];
  let profile: OrchestrationResult['profile'];
  for (const k of options.scalingHospitals) {
    const last = scaling[scaling.length - 1];
    if (last && last.roundSeconds * (k / last.hospitals) > options.maxRoundSeconds) {
      skipped.push({
        hospitals: k,
        reason: `one round would take ≈ ${Math.round(last.roundSeconds * (k / last.hospitals))} s at linear growth, over this mode's ${options.maxRoundSeconds} s budget; run with --full`,
      });
      options.log(`orchestration K=${k}: skipped`);
      continue;
    }
    // Two rounds, round 2 timed: round 1 pays first-use costs (JIT, model compilation) that would bend the fit at small K.
    const rounds = k >= (options.singleRoundFromHospitals ?? Infinity) ? 1 : 2;
    const measuredAt = new Date().toISOString();
    let r: ScenarioResult;
    try {
      r = await runScenarioInChild(
        k,
        rounds,
        options.scenarioTimeoutSeconds ?? 7200,
        k === options.profileHospitals,
      );
    } catch (e) {
      if (!(e instanceof ScenarioTimeout)) throw e;
      skipped.push({
        hospitals: k,
        reason:
          `the ${rounds}-round run did not finish within ${e.timeoutSeconds} s on this shared machine (killed` +
          (e.peakRssBytes > 0 ? `; peak RSS ${Math.round(e.peakRssBytes / 2 ** 20)} MiB by then` : '') +
          '); the exponent is fitted on the K that finished',
      });
      options.log(`orchestration K=${k}: ${e.message}`);
      continue;
    }
    childCpuSeconds += r.cpuSeconds;
    const t = r.roundTimings[rounds - 1];
    if (r.profile) profile = { hospitals: k, summary: r.profile, roundTiming: t };
    scaling.push({
      hospitals: k,
      timedRound: rounds,
      measuredAt,
      roundSeconds: t.cycleSeconds,
      trainingSpanSeconds: t.trainingSpanSeconds,
      overheadSeconds: t.overheadSeconds,
      dispatchSeconds: t.dispatchSeconds,
      closeSeconds: t.closeSeconds,
      afterCloseSeconds: t.afterCloseSeconds,
      workflowSeconds: r.workflowSeconds,
      peakRssBytes: r.peakRssBytes,
      startRssBytes: r.startRssBytes,
    });
    options.log(
      `orchestration K=${k}: one round ${t.cycleSeconds.toFixed(2)} s, peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  return {
    setup:
      'workflows/federated-training.yaml on the local workflow engine; real coordinator, DuckDB document store and event bus, ' +
      'file blobs, the real aggregation function (DP-FedAvg, no noise, secure aggregation off) fed by the bus, and the real hospital ' +
      `job code run in process. Simulated: every hospital reads the same in-memory cohort of ${TINY_PATIENTS} synthetic stays and ` +
      `trains an MLP with ${TINY_CONFIG.hiddenUnits.join('→')} hidden units for ${TINY_CONFIG.localEpochs} epoch (tiny local work); ` +
      'all jobs share one Node thread, so their training overlaps.',
    overhead,
    scaling,
    ...scalingGrowth(scaling),
    skipped,
    childCpuSeconds,
    profile,
    ...(emulator ? { emulator } : {}),
  };
}

/** A failed emulator run is a "not measured" row with its error, not a failed bench. */
function measureEmulatorOverhead(rounds: number, log: (msg: string) => void): EmulatorOverhead {
  try {
    return benchEmulatorOverhead(rounds, log);
  } catch (e) {
    const reason = `not measured: the run failed (${(e as Error).message.slice(0, 300)})`;
    log(`orchestration emulators: ${reason}`);
    return { measured: false, reason };
  }
}
