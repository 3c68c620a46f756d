import { summarize, throughputRatio, type Summary } from './statistics';

/** Something to time; its result goes to a sink so the JIT cannot drop the work. */
export type Task = () => unknown | Promise<unknown>;

export interface TimingOptions {
  /** Untimed runs first (JIT warm-up, caches, allocator). */
  warmup: number;
  repeats: number;
  /** Keep warming up until this much time has passed (default 0.2 s): small tasks need many calls before V8 optimises them. */
  minWarmupSeconds?: number;
}

export interface SideBySide {
  baseline: Summary;
  subject: Summary;
  /** Throughput ratio subject / baseline from the medians (see throughputRatio). */
  ratio: number;
  /** The same ratio for each adjacent (baseline, subject) pair: its spread shows how stable the ratio is. */
  pairRatios: Summary;
}

let sink = 0;
/** Keeps results alive; read by nobody, but the JIT cannot prove that. */
export function consume(value: unknown): void {
  if (typeof value === 'number') sink += value;
  else if (value !== undefined && value !== null) sink += 1;
}
export function sinkValue(): number {
  return sink;
}

/** Seconds one call of `task` takes (awaited if it returns a promise). */
export async function timeOnce(task: Task): Promise<number> {
  const start = process.hrtime.bigint();
  const out = task();
  consume(out instanceof Promise ? await out : out);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Warm-up, then `repeats` timed calls. */
async function warmUp(tasks: Task[], options: TimingOptions): Promise<void> {
  const minSeconds = options.minWarmupSeconds ?? 0.2;
  let elapsed = 0;
  for (let i = 0; i < options.warmup || (elapsed < minSeconds && i < 1000); i++) {
    for (const task of tasks) elapsed += await timeOnce(task);
  }
}

export async function measure(task: Task, options: TimingOptions): Promise<Summary> {
  await warmUp([task], options);
  const seconds: number[] = [];
  for (let i = 0; i < options.repeats; i++) seconds.push(await timeOnce(task));
  return summarize(seconds);
}

/**
 * Times a baseline and a subject interleaved in one process (A B B A A B ...), so both see the
 * same machine load, thermal state and heap; on a shared machine only such ratios are meaningful.
 * `work` gives each task's amount of work (e.g. parameters, samples, FLOPs) when they differ.
 */
export async function measureSideBySide(
  baseline: Task,
  subject: Task,
  options: TimingOptions & { baselineWork?: number; subjectWork?: number },
): Promise<SideBySide> {
  const bw = options.baselineWork ?? 1;
  const sw = options.subjectWork ?? 1;
  await warmUp([baseline, subject], options);
  const b: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < options.repeats; i++) {
    // Alternate the order so drift (other jobs starting, GC debt) does not favour one side.
    if (i % 2 === 0) {
      b.push(await timeOnce(baseline));
      s.push(await timeOnce(subject));
    } else {
      s.push(await timeOnce(subject));
      b.push(await timeOnce(baseline));
    }
  }
  const baselineSummary = summarize(b);
  const subjectSummary = summarize(s);
  return {
    baseline: baselineSummary,
    subject: subjectSummary,
    ratio: throughputRatio(baselineSummary.median, subjectSummary.median, bw, sw),
    pairRatios: summarize(b.map((tb, i) => throughputRatio(tb, s[i], bw, sw))),
  };
}
