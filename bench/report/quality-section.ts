import type { MeanInterval } from '../statistics';
import type { MetricIntervals, PresetQuality } from '../suites/quality';
import { table } from './format';
import { renderBarChart, renderLineChart, type LineSeries } from './svg-plot';

const ci = (v: MeanInterval | null, digits = 3) =>
  v === null ? '—' : `${v.mean.toFixed(digits)} [${v.low.toFixed(digits)}, ${v.high.toFixed(digits)}]`;
const meanOnly = (v: MeanInterval | null) => (v === null ? '—' : v.mean.toFixed(3));

/** The methods drawn per hospital: the references and the strongest and weakest patient-level DP. */
function barMethods(q: PresetQuality) {
  const dp = q.methods.filter((m) => m.kind === 'dpsgd');
  const picked = ['centralized', 'localOnly', 'fedavg'];
  if (dp.length > 0) picked.push(dp[0].id);
  if (dp.length > 1) picked.push(dp[dp.length - 1].id);
  return q.methods.filter((m) => picked.includes(m.id));
}

export function qualitySvgs(presets: readonly PresetQuality[]): Record<string, string> {
  const out: Record<string, string> = {};
  const series: LineSeries[] = [];
  const epsilons = presets.flatMap((q) => q.methods.map((m) => m.epsilon ?? NaN)).filter(Number.isFinite);
  const xs = [Math.min(...epsilons), Math.max(...epsilons)];
  for (const q of presets) {
    const dp = q.methods.filter((m) => m.kind === 'dpsgd' && q.pooled[m.id].auroc !== null);
    series.push({
      name: `${q.settings.preset}: patient-level DP-SGD`,
      points: dp.map((m) => [m.epsilon!, q.pooled[m.id].auroc!.mean]),
    });
    const hospital = q.methods.filter((m) => m.kind === 'dpfedavg' && q.pooled[m.id].auroc !== null);
    if (hospital.length > 0)
      series.push({
        name: `${q.settings.preset}: hospital-level DP-FedAvg`,
        points: hospital.map((m) => [m.epsilon!, q.pooled[m.id].auroc!.mean]),
      });
    const fedavg = q.pooled.fedavg?.auroc;
    if (fedavg && xs.every(Number.isFinite))
      series.push({
        name: `${q.settings.preset}: FedAvg, no DP`,
        dashed: true,
        points: xs.map((x) => [x, fedavg.mean]),
      });
  }
  if (epsilons.length > 0)
    out['quality-auroc-vs-epsilon.svg'] = renderLineChart({
      title: 'Pooled test AUROC vs privacy budget ε (δ = 1e-5; mean over seeds)',
      xLabel: 'ε (log)',
      yLabel: 'pooled test AUROC',
      logX: true,
      yRange: [0.5, 1],
      series,
    });
  for (const q of presets) {
    const methods = barMethods(q);
    out[`quality-auroc-${q.settings.preset}.svg`] = renderBarChart({
      title: `Test AUROC per hospital, ${q.settings.preset} (mean of ${q.settings.seeds.length} seeds, 95 % t interval)`,
      yLabel: 'test AUROC on the hospital’s own test set',
      seriesNames: methods.map((m) => m.label),
      yRange: [0.5, 1],
      groups: [
        ...q.hospitals.map((h) => ({
          label: h,
          bars: methods.map((m) => {
            const v = q.perHospital[h][m.id].auroc;
            return v ? { value: v.mean, low: v.low, high: v.high } : { value: NaN };
          }),
        })),
        {
          label: 'pooled',
          bars: methods.map((m) => {
            const v = q.pooled[m.id].auroc;
            return v ? { value: v.mean, low: v.low, high: v.high } : { value: NaN };
          }),
        },
      ],
    });
  }
  return out;
}

function methodNote(q: PresetQuality): string {
  const s = q.settings;
  const z = (id: string) => q.noiseMultipliers[id];
  const dp = q.methods.filter((m) => m.kind === 'dpsgd');
  const hospital = q.methods.filter((m) => m.kind === 'dpfedavg');
  return [
    `Seeds ${s.seeds.join(', ')} (each seed draws the cohort, initial weights and shuffling, as \`himas train --seed\`); values are the **mean over seeds with a 95 % t interval** [low, high] (n = ${s.seeds.length}).`,
    `Non-private rows: MLP ${s.hiddenUnits.join('→')}, Adam lr ${s.learningRate}, batch ${s.batchSize}, ${s.rounds} rounds × ${s.localEpochs} local epochs (centralized and local-only get the same ${s.rounds * s.localEpochs} passes). FedAvg is example-weighted${s.fedAdam ? '; FedAdam (Reddi et al. 2021) uses server lr 0.01' : ''}.`,
    q.dpRecipe
      ? `DP rows use the DP-SGD recipe \`himas train\` applied with patient privacy on when this was measured (${q.dpRecipe.model} model, batch ${q.dpRecipe.batchSize}, lr ${q.dpRecipe.learningRate}, ${q.dpRecipe.localEpochs} local epochs, C_example = ${q.dpRecipe.exampleClipNorm ?? 1}) and example-weighted FedAvg; “DP recipe, no noise” is that recipe without DP-SGD, so the gap to it is the cost of the noise alone.`
      : `DP rows use the DP-SGD recipe of the measuring run (not recorded in this results file) and example-weighted FedAvg; “DP recipe, no noise” is that recipe without DP-SGD.`,
    dp.length > 0
      ? `Patient-level DP-SGD: each hospital calibrates z to its own N for (ε, δ = ${s.delta.toExponential(0)}) per patient over the whole run (RDP accountant, Poisson sampling); mean z over hospitals: ${dp.map((m) => `ε = ${m.epsilon}: z = ${z(m.id)?.toFixed(2)}`).join(', ')}.`
      : '',
    hospital.length > 0
      ? `Hospital-level DP-FedAvg: every hospital every round (q = 1), updates clipped to C = ${s.hospitalClipNorm}, Gaussian noise z·C/m on the average with z for (ε, δ = ${s.delta.toExponential(0)}) per hospital over ${s.rounds} rounds: ${hospital.map((m) => `ε = ${m.epsilon}: z = ${z(m.id)?.toFixed(2)}`).join(', ')}.`
      : `No hospital-level DP row: with m = ${q.hospitals.length} hospitals the noise on the average, of norm about z·C·√d/m over d parameters, is many times the largest possible signal C, so it is not meaningful here; see the eicu-like preset.`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** "Quality" for one preset: pooled metrics per method, per-hospital AUROC, plots (docs/benchmarks.md). */
export function qualityPresetSection(q: PresetQuality): string[] {
  const metrics = (v: MetricIntervals) => [
    ci(v.auroc),
    ci(v.auprc),
    ci(v.observedExpected, 2),
    ci(v.calibrationSlope, 2),
  ];
  const small = q.hospitals.filter((h) => q.testSizes[h] && q.testSizes[h].positives < 5);
  const methods = barMethods(q);
  return [
    `### \`${q.settings.preset}\`: ${q.hospitals.length} hospitals (${Math.round(q.seconds)} s)`,
    '',
    methodNote(q),
    '',
    table(
      ['method (pooled test rows)', 'AUROC', 'AUPRC', 'calibration O:E', 'calibration slope'],
      q.methods.map((m) => [
        m.id === 'localOnly' ? 'local only (mean of the hospitals’ own models)' : m.label,
        ...metrics(q.pooled[m.id]),
      ]),
    ),
    '',
    `![Per-hospital AUROC, ${q.settings.preset}](benchmarks/quality-auroc-${q.settings.preset}.svg)`,
    '',
    'Per-hospital test AUROC (mean over seeds; local only = the hospital’s own model; test rows / positives of seed ' +
      `${q.settings.seeds[0]} in the last column):`,
    '',
    table(
      ['hospital', ...q.methods.map((m) => m.label), 'test rows / positives'],
      q.hospitals.map((h) => [
        h,
        ...q.methods.map((m) => meanOnly(q.perHospital[h][m.id].auroc)),
        q.testSizes[h] ? `${q.testSizes[h].rows} / ${q.testSizes[h].positives}` : '—',
      ]),
    ),
    '',
    small.length > 0
      ? `Hospitals with fewer than 5 test positives (${small.join(', ')}): their AUROC is very noisy, and undefined (—, left out of the mean) for a seed with none.\n`
      : '',
    `AUPRC and calibration per hospital are in the results file (\`perHospital\`); the chart shows ${methods.map((m) => m.label).join(', ')}.`,
    '',
  ];
}
