// node bin/run-ts.js bench/quality-tuning.ts [--preset archetypes] [--patients 6000|natural] [--hospitals 3]
//   [--rounds 10] [--seeds 42,20261127] [--runs 3] [--rows default,site] [--out FILE.json]
//
// Exploration front end of bench/suites/quality-tuning.ts: any seeds, runs and variants (the
// documented table is `npm run bench -- --only quality-tuning`), printed as that table plus each
// run's figures per seed.
import { writeFileSync } from 'node:fs';
import { initializeBackend } from '../src/core/model';
import type { PresetName } from '../src/core/data';
import type { StrategyRow } from './suites/strategies';
import { benchQualityTuning, TUNING_VARIANTS } from './suites/quality-tuning';
import { qualityTuningSection } from './report/quality-tuning-section';

/** Variants measured while choosing, beyond the documented ones. */
const EXPLORATION_ROWS: StrategyRow[] = [
  {
    id: 'personal',
    label: 'each hospital serves its own last local model',
    overrides: {},
    variant: { servePersonalized: true },
  },
  {
    id: 'tail5',
    label: 'mean of the last 5 global models',
    overrides: {},
    variant: { tailAverageRounds: 5 },
  },
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
    id: 'site-batch256',
    label: 'site intercept, batch 256, Adam 0.02',
    overrides: { batchSize: 256, localLearningRate: 0.02 },
    variant: { siteIntercept: true },
  },
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  await initializeBackend('auto');
  const seeds = arg('seeds', '42,20261127,20261201,7,1234').split(',').map(Number);
  const all = [...TUNING_VARIANTS, ...EXPLORATION_ROWS];
  const wanted = arg('rows', TUNING_VARIANTS.map((r) => r.id).join(',')).split(',');
  const unknown = wanted.filter((id) => !all.some((r) => r.id === id));
  if (unknown.length > 0)
    throw new Error(`unknown rows ${unknown.join(', ')}; known: ${all.map((r) => r.id).join(', ')}`);
  const patients = arg('patients', '6000');
  const result = await benchQualityTuning(
    {
      preset: arg('preset', 'archetypes') as PresetName,
      hospitals: Number(arg('hospitals', '3')),
      patients: patients === 'natural' ? undefined : Number(patients),
      rounds: Number(arg('rounds', '10')),
      runs: Number(arg('runs', '3')),
      groups: [{ label: 'seeds', seeds }],
      rows: all.filter((r) => wanted.includes(r.id)),
    },
    (m) => console.error(m),
  );
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(result, null, 1));
  console.log(qualityTuningSection(result).join('\n'));
  const f = (v: number | null, d = 2) => (v === null ? '—' : v.toFixed(d));
  for (const row of result.rows)
    for (const seed of seeds) {
      const c = result.checks.filter((x) => x.row === row.id && x.seed === seed);
      console.log(
        `${row.id} ${seed} O:E ${c.map((x) => f(x.oe)).join('/')} slope ${c.map((x) => f(x.slope)).join('/')} ` +
          `AUROC ${c.map((x) => f(x.auroc, 3)).join('/')} (central ${f(c[0].centralAuroc, 3)}) ` +
          `worst |ln O:E| ${c.map((x) => f(x.worstLogOE)).join('/')} (central ${f(c[0].centralWorstLogOE)}) ` +
          `local-only wins ${c.map((x) => x.localOnlyWins).join('/')}`,
      );
    }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
