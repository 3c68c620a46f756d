import type * as Plot from '@observablehq/plot';
import type { TrainingReport } from '../../../../schemas/report';
import { formatInterval, formatNumber, MISSING } from '../format';
import { plotLibrary } from './chart-library';
import type { ChartSpec } from './chart-spec';
import {
  POOLED_NAME,
  reportHospitalIds,
  roundDomain,
  seriesPalette,
  trainLossPoints,
  versionMetricPoints,
  type SeriesPoint,
  type VersionMetric,
} from './report-series';
import { POOLED_COLOUR } from './series-colours';

const WIDTH = 960;
const HEIGHT = 320;
const VERSION_AXIS = 'Model version (round; 0 = initial model)';

/** Integer round ticks, about ten of them. */
function roundTicks([first, last]: [number, number]): number[] {
  const step = Math.max(1, Math.ceil((last - first) / 10));
  const ticks: number[] = [];
  for (let r = first; r <= last; r += step) ticks.push(r);
  return ticks;
}

const clampTo =
  ([low, high]: readonly [number, number]) =>
  (v: number): number =>
    Math.min(high, Math.max(low, v));

function pointTitle(p: SeriesPoint, what: string): string {
  const interval = p.interval ? ` (95 % noise interval ${formatInterval(p.interval)})` : '';
  return `${p.series}, ${what} ${p.round}: ${formatNumber(p.value)}${interval}`;
}

/**
 * Lines of one value per series and round: hospitals thin, pooled thick and on top, the pooled
 * figures' noise intervals as bars, a gap where a value is missing.
 */
function roundLinesPlot(options: {
  points: SeriesPoint[];
  ids: string[];
  withPooled: boolean;
  xDomain: [number, number];
  xLabel: string;
  yLabel: string;
  yLimits: readonly [number, number];
  what: string;
}): Plot.PlotOptions {
  const { points, yLimits } = options;
  const clamp = clampTo(yLimits);
  const pooled = points.filter((p) => p.series === POOLED_NAME);
  const hospitals = points.filter((p) => p.series !== POOLED_NAME);
  const withIntervals = pooled.filter((p) => p.interval && p.value !== null);
  const drawn = points.filter((p) => p.value !== null);
  const plot = plotLibrary();
  return {
    width: WIDTH,
    height: HEIGHT,
    marginLeft: 56,
    marginBottom: 44,
    x: {
      label: options.xLabel,
      domain: options.xDomain,
      ticks: roundTicks(options.xDomain),
      tickFormat: 'd',
      labelAnchor: 'center',
      labelArrow: 'none',
    },
    y: { label: options.yLabel, grid: true, nice: true, labelArrow: 'none' },
    color: { ...seriesPalette(options.ids, options.withPooled), legend: true },
    marks: [
      plot.ruleX(withIntervals, {
        x: 'round',
        y1: (p: SeriesPoint) => clamp(p.interval![0]),
        y2: (p: SeriesPoint) => clamp(p.interval![1]),
        stroke: POOLED_COLOUR,
        strokeOpacity: 0.25,
        strokeWidth: 8,
        title: (p: SeriesPoint) =>
          `${POOLED_NAME}: 95 % interval of the DP noise at ${options.what} ${p.round}, ${formatInterval(p.interval)}`,
      }),
      plot.lineY(hospitals, { x: 'round', y: 'value', z: 'series', stroke: 'series', strokeWidth: 1.75 }),
      plot.lineY(pooled, { x: 'round', y: 'value', stroke: 'series', strokeWidth: 3.5 }),
      plot.dot(drawn, {
        x: 'round',
        y: 'value',
        fill: 'series',
        r: (p: SeriesPoint) => (p.series === POOLED_NAME ? 4 : 2.5),
        title: (p: SeriesPoint) => pointTitle(p, options.what),
      }),
    ],
  };
}

/** The table of a round chart: one row per round, one column per series (pooled with its interval). */
function roundTable(
  points: SeriesPoint[],
  ids: string[],
  withPooled: boolean,
  firstColumn: string,
  caption: string,
) {
  const rounds = [...new Set(points.map((p) => p.round))].sort((a, b) => a - b);
  const at = (series: string, round: number) => points.find((p) => p.series === series && p.round === round);
  const columns = [firstColumn, ...(withPooled ? [POOLED_NAME, 'pooled 95 % noise interval'] : []), ...ids];
  const rows = rounds.map((round) => [
    String(round),
    ...(withPooled
      ? [formatNumber(at(POOLED_NAME, round)?.value), formatInterval(at(POOLED_NAME, round)?.interval)]
      : []),
    ...ids.map((id) => formatNumber(at(id, round)?.value ?? null)),
  ]);
  return { caption, columns, rows };
}

const METRIC_TEXT: Record<
  VersionMetric,
  { title: string; yLabel: string; limits: readonly [number, number]; caption: string }
> = {
  auroc: {
    title: 'Test AUROC by model version',
    yLabel: 'AUROC',
    limits: [0, 1],
    caption:
      "Each hospital evaluates a model version on its own held-out test split and releases a DP-noised risk histogram; pooled is computed from the sum of those histograms, never from pooled records. The grey bars are the pooled figure's approximate 95 % interval of the noise.",
  },
  loss: {
    title: 'Test loss by model version',
    yLabel: 'Mean binary cross-entropy',
    limits: [0, Number.POSITIVE_INFINITY],
    caption:
      "Lower is better. From the same DP-noised histograms (every stay scored at its bin's midpoint), with the pooled figure's 95 % noise interval. Gaps are versions a hospital did not evaluate.",
  },
};

/**
 * A test-split metric of every evaluated model version, per hospital and pooled; while no version
 * has been evaluated, a line that says so instead of empty axes.
 */
export function versionMetricChart(
  report: TrainingReport,
  metric: VersionMetric,
): ChartSpec | { omitted: string } {
  const ids = reportHospitalIds(report);
  const points = versionMetricPoints(report, metric);
  const text = METRIC_TEXT[metric];
  const evaluated = new Set(points.filter((p) => p.value !== null).map((p) => p.round));
  if (evaluated.size === 0) return { omitted: `${text.title}: no model version has been evaluated yet.` };
  return {
    id: `chart-${metric === 'auroc' ? 'auroc' : 'test-loss'}`,
    title: text.title,
    description: `${text.yLabel} of ${evaluated.size} evaluated model version(s) (rounds ${[...evaluated].join(', ')}) for ${POOLED_NAME.toLowerCase()} and ${ids.length} hospital(s). The numbers are in the table below the chart.`,
    caption: text.caption,
    facts: [],
    plot: roundLinesPlot({
      points,
      ids,
      withPooled: true,
      xDomain: roundDomain(report),
      xLabel: VERSION_AXIS,
      yLabel: text.yLabel,
      yLimits: text.limits,
      what: 'version of round',
    }),
    table: roundTable(
      points,
      ids,
      true,
      'Version (round)',
      `${text.title} (${MISSING} = not evaluated or not computable)`,
    ),
  };
}

/**
 * Training loss by round, or why there is none: under patient-level DP-SGD a hospital's training
 * loss is computed from its patients' records and released by no mechanism, so it is never
 * reported (src/services/hospital-job.ts) and an empty chart would read as missing data.
 */
export function trainLossChart(report: TrainingReport): ChartSpec | { omitted: string } {
  const points = trainLossPoints(report);
  if (!points.some((p) => p.value !== null))
    return {
      omitted:
        report.config.patientPrivacy === 'dp-sgd'
          ? `No training-loss chart: under patient-level DP-SGD the hospitals do not release their training loss (it is computed from their patients' records and no privacy budget pays for it). What is known round by round is above: the evaluated versions' test AUROC and loss, from DP-noised releases${report.config.evaluateEveryRound ? '' : ' (only the initial and final models are evaluated unless evaluateEveryRound is on)'}.`
          : 'No training-loss chart: no hospital reported a training loss.',
    };
  const ids = reportHospitalIds(report);
  return {
    id: 'chart-train-loss',
    title: 'Training loss by round',
    description: `Each of ${ids.length} hospital(s)' mean training loss over its last local epoch, by round. The numbers are in the table below the chart.`,
    caption:
      "Each hospital's mean training loss over its last local epoch in the round, computed on its own records (reported only without DP-SGD); gaps are rounds it did not take part in.",
    facts: [],
    plot: roundLinesPlot({
      points,
      ids,
      withPooled: false,
      xDomain: roundDomain(report),
      xLabel: 'Round',
      yLabel: 'Training loss (last local epoch)',
      yLimits: [0, Number.POSITIVE_INFINITY],
      what: 'round',
    }),
    table: roundTable(points, ids, false, 'Round', `Training loss by round (${MISSING} = not reported)`),
  };
}
