import type { QualityTuningResult, Spread } from '../suites/quality-tuning';
import { table } from './format';

const range = (s: Spread | null, digits = 2) =>
  s === null ? '—' : `${s.mean.toFixed(digits)} [${s.min.toFixed(digits)}, ${s.max.toFixed(digits)}]`;

/** Issue 14's criteria run by run for the recipe variants (bench/suites/quality-tuning.ts). */
export function qualityTuningSection(t: QualityTuningResult): string[] {
  const s = t.settings;
  const label = new Map(t.rows.map((r) => [r.id, r.label]));
  const lines = [
    `### Issue 14's criteria run by run: site intercepts and the noise floor (\`${s.preset}\`, ${s.hospitals} hospitals, ${s.patients ?? 'natural'} stays, ${s.rounds} rounds; ${t.seconds.toFixed(0)} s)`,
    '',
    `Each seed trained ${s.runs} times (DP-SGD's sampling and noise come from the CSPRNG, so runs of a seed differ), ` +
      'each run trained as the jobs and the aggregator do (bench/suites/strategies.ts) at the privacy defaults with the one change the row names, ' +
      'and held against the central logistic regression of its seed (pooled records, same recipe, no noise). Cells count runs meeting ' +
      'pooled O:E in [0.9, 1.1], slope in [0.85, 1.15], pooled AUROC within 0.02 of central, and every hospital’s \\|ln O:E\\| within central’s + 0.1; ' +
      'then mean [min, max] over runs. With a site intercept each hospital scores its test split with its own intercept and the pooled figures pool those scores. ' +
      `Local-only wins: mean number of the ${s.hospitals} hospitals whose own non-private model has the higher AUROC on their own test split, and runs per hospital (${t.hospitalIds.join(', ')}). ` +
      'Reproduce: `npm run bench -- --only quality-tuning`.',
    '',
  ];
  for (const g of t.groups) {
    lines.push(`${g.label}: ${g.seeds.join(', ')} (${g.seeds.length * s.runs} runs per row).`, '');
    lines.push(
      table(
        [
          'variant',
          'pooled O:E in range',
          'pooled O:E',
          'slope in range',
          'slope',
          'AUROC within 0.02',
          'every hospital’s \\|ln O:E\\| within central + 0.1',
          'worst \\|ln O:E\\| − central’s',
          'local only wins (per hospital)',
        ],
        g.summaries.map((m) => [
          label.get(m.row) ?? m.row,
          `${m.pooledOEWithin} of ${m.runs}`,
          range(m.oe),
          `${m.slopeWithin} of ${m.runs}`,
          range(m.slope),
          `${m.aurocWithin} of ${m.runs}`,
          `${m.perHospitalOEWithin} of ${m.runs}`,
          range(m.excessLogOE),
          `${m.localOnlyWins.toFixed(1)} (${m.winsByHospital.join(' / ')})`,
        ]),
      ),
      '',
    );
  }
  return lines;
}
