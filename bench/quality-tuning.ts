// node bin/run-ts.js bench/quality-tuning.ts [--preset archetypes] [--patients 6000] [--hospitals 3]
//   [--rounds 10] [--seeds 42,20261127] [--runs 3] [--rows default,site] [--out FILE.json]
//
// Issue 14's acceptance criteria, run by run: each seed is trained `--runs` times (DP-SGD's
// sampling and noise come from the CSPRNG, so runs of one seed differ) with the strategy harness of
// bench/suites/strategies.ts, and each run is checked against the central logistic regression of
// its seed: pooled O:E in [0.9, 1.1], slope in [0.85, 1.15], AUROC within 0.02, every hospital's
// |ln O:E| within central's + 0.1, and how many hospitals' non-private local-only models win.
import { writeFileSync } from 'node:fs';
import { initializeBackend } from '../src/core/model';
import type { PresetName } from '../src/core/data';
import { benchStrategies, type StrategyRow, type StrategyMetrics } from './suites/strategies';

export const TUNING_ROWS: StrategyRow[] = [
  { id: 'default', label: 'default', overrides: {} },
  { id: 'site', label: 'site intercept', overrides: {}, variant: { siteIntercept: true } },
  {
    id: 'tail3',
    label: 'mean of the last 3 global models',
    overrides: {},
    variant: { tailAverageRounds: 3 },
  },
  {
    id: 'tail5',
    label: 'mean of the last 5 global models',
    overrides: {},
    variant: { tailAverageRounds: 5 },
  },
  { id: 'cosine', label: 'cosine lr lr → lr/10', overrides: {}, variant: { learningRateSchedule: 'cosine' } },
  {
    id: 'last-third',
    label: 'lr/3 in the last third',
    overrides: {},
    variant: { learningRateSchedule: 'last-third' },
  },
  {
    id: 'site-tail5',
    label: 'site intercept + mean of last 5',
    overrides: {},
    variant: { siteIntercept: true, tailAverageRounds: 5 },
  },
  {
    id: 'fedavgm-0.5',
    label: 'FedAvgM β = 0.5, server lr 0.5',
    overrides: { serverOptimizer: 'momentum', serverMomentum: 0.5, serverLearningRate: 0.5 },
  },
  { id: 'batch256', label: 'batch 256, Adam 0.02', overrides: { batchSize: 256, localLearningRate: 0.02 } },
  {
    id: 'site-batch256',
    label: 'site intercept, batch 256, Adam 0.02',
    overrides: { batchSize: 256, localLearningRate: 0.02 },
    variant: { siteIntercept: true },
  },
  {
    id: 'site-tail3',
    label: 'site intercept + mean of last 3',
    overrides: {},
    variant: { siteIntercept: true, tailAverageRounds: 3 },
  },
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface RunCheck {
  seed: number;
  run: number;
  row: string;
  auroc: number | null;
  centralAuroc: number | null;
  oe: number | null;
  slope: number | null;
  worstLogOE: number | null;
  centralWorstLogOE: number | null;
  localOnlyWins: number;
  compared: number;
  winners: number[];
}

async function main(): Promise<void> {
  await initializeBackend('auto');
  const seeds = arg('seeds', '42,20261127,20261201,7,1234').split(',').map(Number);
  const runs = Number(arg('runs', '3'));
  const wanted = arg('rows', TUNING_ROWS.map((r) => r.id).join(',')).split(',');
  const rows = TUNING_ROWS.filter((r) => wanted.includes(r.id));
  const patientsArg = arg('patients', '6000');
  const result = await benchStrategies(
    {
      preset: arg('preset', 'archetypes') as PresetName,
      hospitals: Number(arg('hospitals', '3')),
      patients: patientsArg === 'natural' ? undefined : Number(patientsArg),
      rounds: Number(arg('rounds', '10')),
      seeds: seeds.flatMap((s) => Array.from({ length: runs }, () => s)),
      strategies: rows,
    },
    (m) => console.error(m),
  );
  const checks: RunCheck[] = [];
  result.raw.forEach((r, k) => {
    const central = r.rows.central;
    for (const row of rows) {
      const m: StrategyMetrics = r.rows[row.id];
      checks.push({
        seed: r.seed,
        run: k % runs,
        row: row.id,
        auroc: m.auroc,
        centralAuroc: central.auroc,
        oe: m.observedExpected,
        slope: m.calibrationSlope,
        worstLogOE: m.worstLogOE,
        centralWorstLogOE: central.worstLogOE,
        localOnlyWins: m.localOnlyWins,
        compared: m.comparedHospitals,
        winners: m.localOnlyWinners ?? [],
      });
    }
  });
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify({ seeds, runs, rows, checks, raw: result.raw }, null, 1));
  const f = (v: number | null, d = 2) => (v === null ? '—' : v.toFixed(d));
  console.log(
    '| row | runs | pooled O:E in [0.9, 1.1] | O:E mean [min, max] | slope in [0.85, 1.15] | slope mean [min, max] | AUROC within 0.02 | worst \\|ln O:E\\| ≤ central + 0.1 | excess over central mean [max] | local-only wins (runs with 0 / mean) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const c = checks.filter((x) => x.row === row.id);
    const n = c.length;
    const count = (p: (x: RunCheck) => boolean) => c.filter(p).length;
    const stats = (xs: Array<number | null>) => {
      const v = xs.filter((x): x is number => x !== null);
      return `${f(v.reduce((a, b) => a + b, 0) / v.length)} [${f(Math.min(...v))}, ${f(Math.max(...v))}]`;
    };
    const excess = c.map((x) =>
      x.worstLogOE === null || x.centralWorstLogOE === null ? null : x.worstLogOE - x.centralWorstLogOE,
    );
    console.log(
      `| ${row.id} | ${n} | ${count((x) => x.oe !== null && x.oe >= 0.9 && x.oe <= 1.1)} | ${stats(c.map((x) => x.oe))} | ${count((x) => x.slope !== null && x.slope >= 0.85 && x.slope <= 1.15)} | ${stats(c.map((x) => x.slope))} | ${count((x) => x.auroc !== null && x.centralAuroc !== null && x.centralAuroc - x.auroc <= 0.02)} | ${excess.filter((e) => e !== null && e <= 0.1 + 1e-9).length} | ${stats(excess)} | ${count((x) => x.localOnlyWins === 0)} / ${f(c.reduce((a, x) => a + x.localOnlyWins, 0) / n, 1)} of ${c[0]?.compared ?? 0} |`,
    );
  }
  console.log('\nlocal-only wins per hospital (runs out of all):');
  for (const row of rows) {
    const c = checks.filter((x) => x.row === row.id);
    const tally = new Map<number, number>();
    for (const x of c) for (const w of x.winners) tally.set(w, (tally.get(w) ?? 0) + 1);
    console.log(
      `${row.id}: ${[...tally.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([h, k]) => `h${h + 1} ${k}/${c.length}`)
        .join(', ')}`,
    );
  }
  console.log('\nper seed (mean over runs): row seed O:E slope AUROC(central) worstLogOE(central) localWins');
  for (const row of rows)
    for (const seed of seeds) {
      const c = checks.filter((x) => x.row === row.id && x.seed === seed);
      const mean = (k: keyof RunCheck) =>
        c.reduce((a, x) => a + ((x[k] as number | null) ?? NaN), 0) / c.length;
      console.log(
        `${row.id} ${seed} O:E ${c.map((x) => f(x.oe)).join('/')} slope ${c.map((x) => f(x.slope)).join('/')} AUROC ${f(mean('auroc'), 3)} (${f(c[0].centralAuroc, 3)}) worst ${c.map((x) => f(x.worstLogOE)).join('/')} (${f(c[0].centralWorstLogOE)}) wins ${c.map((x) => x.localOnlyWins).join('/')}`,
      );
    }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
