import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeBenchmarkDocs } from '../../bench/report/benchmarks-doc';
import type { ChaosSummary, FaultRecovery } from '../../bench/resilience';
import type { BenchResults } from '../../bench/results';
import type { ChaosReport } from './chaos-suite';

const REPO = path.resolve(__dirname, '..', '..');

/** The long run's result, as docs/benchmarks.md shows it. */
export function summarizeChaos(report: ChaosReport, command: string): ChaosSummary {
  const faultsByKind: Record<string, number> = {};
  for (const fault of report.iterations.flatMap((i) => i.injected))
    faultsByKind[fault.kind] = (faultsByKind[fault.kind] ?? 0) + 1;
  return {
    recordedAt: new Date().toISOString(),
    commands: [command],
    stacks: [...new Set(report.iterations.map((i) => i.stack))],
    runs: report.iterations.length,
    faults: report.faults,
    faultsByKind,
    recoveryMedianSeconds: report.recovery?.medianSeconds ?? null,
    recoveryWorstSeconds: report.recovery?.worstSeconds ?? null,
    recoveryByKind: recoveryByKind(report),
    baselineSeconds: report.baselineSeconds,
    chargedRetries: report.iterations.reduce((n, i) => n + i.chargedRetries, 0),
    failures: report.failures.map(
      (f) =>
        `${f.runId} (npm run chaos -- --seed ${f.seed} --faults ${f.injected.length} --stack ${f.stack}): ${f.problems.join('; ')}`,
    ),
    loadAverage: os.loadavg()[0]!,
  };
}

/** Per fault kind: time to new progress after each fault, and the extra wall time of runs with it alone. */
export function recoveryByKind(report: ChaosReport): Record<string, FaultRecovery> {
  const byKind: Record<string, FaultRecovery> = {};
  const kinds = [...new Set(report.iterations.flatMap((i) => i.injected.map((f) => f.kind)))].sort();
  for (const kind of kinds) {
    const progress = report.iterations
      .flatMap((i) => i.injected)
      .filter((f) => f.kind === kind && f.progressSeconds !== undefined)
      .map((f) => f.progressSeconds!)
      .sort((a, b) => a - b);
    const alone = report.iterations
      .filter((i) => i.injected.length === 1 && i.injected[0]!.kind === kind && i.extraSeconds !== undefined)
      .map((i) => i.extraSeconds!)
      .sort((a, b) => a - b);
    if (progress.length === 0) continue;
    byKind[kind] = {
      faults: progress.length,
      progressMedianSeconds: median(progress),
      progressWorstSeconds: progress.at(-1)!,
      aloneRuns: alone.length,
      extraMedianSeconds: alone.length > 0 ? median(alone) : null,
      extraWorstSeconds: alone.length > 0 ? alone.at(-1)! : null,
    };
  }
  return byKind;
}

function median(sorted: number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One line per fault kind, for the terminal and the docs. */
export function describeRecovery(byKind: Record<string, FaultRecovery>): string[] {
  return Object.entries(byKind).map(
    ([kind, r]) =>
      `${kind}: new progress ${r.progressMedianSeconds.toFixed(1)} s after the fault (median of ${r.faults}, worst ${r.progressWorstSeconds.toFixed(1)} s)` +
      (r.extraMedianSeconds === null
        ? ''
        : `; a run with it alone took ${r.extraMedianSeconds.toFixed(1)} s longer than with no fault (median of ${r.aloneRuns}, worst ${r.extraWorstSeconds!.toFixed(1)} s)`),
  );
}

/**
 * Writes the summary into a bench results file and renders docs/benchmarks.md from it (the section
 * names the commands; it is not a `bench --only` run, so it is not listed among the merged runs).
 */
export function recordChaos(file: string, summary: ChaosSummary): void {
  const results = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  const merged: BenchResults = {
    ...results,
    resilience: { ...results.resilience, chaos: summary },
  };
  fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  writeBenchmarkDocs(merged, path.relative(REPO, file), REPO);
}
