// node bin/run-ts.js bench/round-sweep.ts --label after [--hospitals 10,100,1000] [--profile-hospitals 50] [--out FILE]
//
// One round at each K through `himas bench round --json` (each in a fresh process, so peak RSS is
// its own), the fitted growth exponent, and a CPU profile of one K's whole workflow (top self-time
// functions). Stored under --label in bench/results/round-cost.json next to the other labels (the
// "before" of a change is measured by running this script on the old commit), and rendered into
// docs/benchmarks.md by bench/report/round-cost-section.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fitPowerLaw } from './statistics';
import type { ScenarioResult } from './suites/orchestration';
import type { RoundCostFile, RoundCostRun } from './report/round-cost-section';

const REPO = path.resolve(__dirname, '..');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const label = flag('label');
  if (!label) throw new Error('--label NAME is required (e.g. before, after)');
  const hospitals = (flag('hospitals') ?? '10,100,1000').split(',').map(Number);
  const profileHospitals = Number(flag('profile-hospitals') ?? '50');
  const out = path.resolve(flag('out') ?? path.join(REPO, 'bench', 'results', 'round-cost.json'));
  const run: RoundCostRun = {
    measuredAt: new Date().toISOString(),
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: process.cwd(),
      encoding: 'utf8',
    }).stdout.trim(),
    cores: os.cpus().length,
    sweep: [],
    exponent: null,
    profile: null,
  };
  const save = () => {
    const file: RoundCostFile = existsSync(out)
      ? (JSON.parse(readFileSync(out, 'utf8')) as RoundCostFile)
      : { runs: {} };
    if (run.sweep.length >= 2)
      run.exponent = fitPowerLaw(
        run.sweep.map((s) => s.hospitals),
        run.sweep.map((s) => s.seconds),
      ).exponent;
    file.runs[label] = run;
    writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  };
  // Saved after every step, so a K that runs out of time keeps the figures before it.
  for (const k of hospitals) {
    const loadBefore = os.loadavg()[0];
    const result = spawnSync(
      process.execPath,
      [path.join(process.cwd(), 'bin', 'himas.js'), 'bench', 'round', '--hospitals', String(k), '--json'],
      { cwd: process.cwd(), encoding: 'utf8', timeout: 3600_000 },
    );
    if (result.status !== 0) throw new Error(`K = ${k}: ${result.stderr.slice(-500)}`);
    const figure = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
      seconds: number;
      peakRssBytes: number;
      participants: number;
    };
    run.sweep.push({ hospitals: k, ...figure, loadAverage: [loadBefore, os.loadavg()[0]] });
    process.stderr.write(`round-sweep ${label}: K = ${k}: ${figure.seconds} s\n`);
    save();
  }
  if (profileHospitals > 0) {
    const child = spawnSync(
      process.execPath,
      [
        path.join(process.cwd(), 'bin', 'run-ts.js'),
        path.join(process.cwd(), 'bench', 'orchestration-child.ts'),
        String(profileHospitals),
        '1',
        '--profile',
      ],
      { cwd: process.cwd(), encoding: 'utf8', timeout: 3600_000 },
    );
    if (child.status !== 0) throw new Error(`profile: ${child.stderr.slice(-500)}`);
    const scenario = JSON.parse(child.stdout.trim().split('\n').pop()!) as ScenarioResult;
    const timing = scenario.roundTimings[0];
    run.profile = {
      hospitals: profileHospitals,
      roundSeconds: timing.cycleSeconds,
      trainingSpanSeconds: timing.trainingSpanSeconds,
      closeSeconds: timing.closeSeconds,
      workflowSeconds: scenario.workflowSeconds,
      cpuSeconds: scenario.cpuSeconds,
      summary: scenario.profile!,
    };
  }
  save();
  process.stderr.write(`round-sweep: wrote ${label} to ${path.relative(REPO, out)}\n`);
}

main();
