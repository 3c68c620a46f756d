import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeBenchmarkDocs } from '../../bench/report/benchmarks-doc';
import type { ChaosSummary } from '../../bench/resilience';
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
    chargedRetries: report.iterations.reduce((n, i) => n + i.chargedRetries, 0),
    failures: report.failures.map(
      (f) =>
        `${f.runId} (npm run chaos -- --seed ${f.seed} --faults ${f.injected.length} --stack ${f.stack}): ${f.problems.join('; ')}`,
    ),
    loadAverage: os.loadavg()[0]!,
  };
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
