import type { BenchResults } from './results';
import { scalingGrowth, type OrchestrationResult } from './suites/orchestration';

/** One run of a single suite merged into an existing results file (said in the report). */
export interface MergedRun {
  suite:
    | 'orchestration'
    | 'quality'
    | 'quality-tuning'
    | 'train-criteria'
    | 'double-masking'
    | 'dp-sgd'
    | 'aggregation'
    | 'delivery-load';
  startedAt: string;
  mode: 'quick' | 'full';
  durationSeconds: number;
  /** What the run measured, e.g. "K = 1000; per-round overhead, embedded and emulator stacks". */
  measured: string;
}

/**
 * Merges an orchestration-only run into a full results file so the other suites' figures are kept.
 * Scaling points are keyed by K (the new run wins), growth exponents are refitted over the union,
 * and "not measured" notes are dropped for any K that now has a figure. The per-round overhead is
 * the new run's (it is cheap and always re-measured); the emulator figure is kept from the old
 * file when the new run could not measure it. The header's wall-clock and CPU figures stay the
 * original run's; each merged run is listed with its own duration.
 */
export function mergeOrchestration(
  base: BenchResults,
  update: OrchestrationResult,
  run: MergedRun,
): BenchResults {
  const old = base.orchestration;
  const byHospitals = new Map(old.scaling.map((s) => [s.hospitals, s]));
  for (const s of update.scaling) byHospitals.set(s.hospitals, s);
  const scaling = [...byHospitals.values()].sort((a, b) => a.hospitals - b.hospitals);
  const measured = new Set(scaling.map((s) => s.hospitals));
  const skippedByHospitals = new Map(old.skipped.map((s) => [s.hospitals, s]));
  for (const s of update.skipped) skippedByHospitals.set(s.hospitals, s);
  const skipped = [...skippedByHospitals.values()]
    .filter((s) => !measured.has(s.hospitals))
    .sort((a, b) => a.hospitals - b.hospitals);
  const emulator = update.emulator?.measured || !old.emulator?.measured ? update.emulator : old.emulator;
  const orchestration: OrchestrationResult = {
    ...old,
    overhead: update.overhead,
    scaling,
    ...scalingGrowth(scaling),
    skipped,
    childCpuSeconds: old.childCpuSeconds + update.childCpuSeconds,
    profile: update.profile ?? old.profile,
    ...(emulator ? { emulator } : {}),
  };
  return {
    ...base,
    orchestration,
    mergedRuns: [...(base.mergedRuns ?? []), run],
  };
}
