import type { MeanInterval } from '../statistics';
import type { StrategyResult } from '../suites/strategies';
import { table } from './format';

const ci = (v: MeanInterval | null, digits: number) =>
  v === null ? '—' : `${v.mean.toFixed(digits)} [${v.low.toFixed(digits)}, ${v.high.toFixed(digits)}]`;

/** Where a mean falls outside the calibration targets of issue 14, say so in the cell. */
const flagged = (v: MeanInterval | null, low: number, high: number) =>
  v === null ? '—' : `${ci(v, 2)}${v.mean < low || v.mean > high ? ' ⚠' : ''}`;

/** The strategy table of issue 14: each federated row is `himas train`'s defaults with one setting changed. */
export function strategySection(s: StrategyResult): string[] {
  const d = s.defaults;
  const n = s.raw.length;
  const sizes = s.trainStays.map((stays) => `${Math.min(...stays)}–${Math.max(...stays)}`).join(', ');
  const rows = s.rows.map((row) => {
    const p = s.pooled[row.id];
    const federated = row.id !== 'central' && row.id !== 'localOnly';
    return [
      row.label,
      ci(p.auroc, 3),
      flagged(p.observedExpected, 0.8, 1.25),
      flagged(p.calibrationSlope, 0.8, 1.2),
      ci(p.worstLogOE, 2),
      federated ? `${p.localOnlyWins.mean.toFixed(1)} of ${s.settings.hospitals}` : '—',
    ];
  });
  return [
    `### Strategies on \`${s.settings.preset}\`: ${s.settings.hospitals} non-IID hospitals, ${s.settings.rounds} rounds, privacy defaults (${s.seconds.toFixed(0)} s)`,
    '',
    `Every federated row is \`himas train --preset ${s.settings.preset} --hospitals ${s.settings.hospitals} --rounds ${s.settings.rounds}\` with the defaults ` +
      `(patient-level DP-SGD, ε = ${d.patientTargetEpsilon} per hospital over the run, δ = ${d.delta < 1e-3 ? d.delta.toExponential(0) : d.delta}; ${d.model} model, batch ${d.batchSize}, ` +
      `Adam lr ${d.localLearningRate}, ${d.localEpochs} local epochs, C_example = ${d.exampleClipNorm}, update clip C = ${d.clipNorm}) and the one setting ` +
      'the row names, trained as the jobs and the aggregator do (each hospital plans z from its declared size; DP-SGD sampling and noise from the CSPRNG) in one process. ' +
      'Central and local-only pool records, which only a simulation can: same recipe and passes, no noise, preprocessing fitted on the records they train on. ' +
      `Seeds ${s.raw.map((r) => r.seed).join(', ')} (n = ${n}; mean with a 95 % t interval); training stays per hospital, smallest–largest per seed: ${sizes}. ` +
      '⚠ marks a mean outside O:E [0.8, 1.25] or slope [0.8, 1.2]. “worst \\|ln O:E\\|” is over hospitals on their own test split; ' +
      '“local only wins” counts hospitals whose own non-private model has the higher AUROC on their own test split (both outcomes present).',
    '',
    table(
      ['method', 'pooled AUROC', 'pooled O:E', 'calibration slope', 'worst \\|ln O:E\\|', 'local only wins'],
      rows,
    ),
    '',
  ];
}
