import type { Metrics, MetricIntervals, RiskHistogram } from '../../../../schemas/metrics';
import type { ModelQuality } from '../../../../schemas/report';
import {
  MIN_STAYS_PER_BIN,
  reliabilityBins,
  type ReliabilityBin,
} from '../../../core/evaluation/reliability';
import { formatInteger, formatInterval, formatNumber, formatPercent, MISSING } from '../format';
import { plotLibrary } from './chart-library';
import type { ChartFact, ChartSpec } from './chart-spec';
import { CALIBRATION_RANGES, offTarget, type CalibrationFigure } from './calibration-ranges';
import { POOLED_NAME, seriesPalette } from './report-series';

const SIZE = 340;
const IDEAL_COLOUR = '#6b7280';

/**
 * The axes' common upper end: the highest bin drawn, or its observed rate, at a readable step.
 * Intervals reaching past it are cut at the edge (the table has them whole).
 */
function axisTop(shown: ReliabilityBin[]): number {
  const highest = Math.max(0.05, ...shown.map((b) => Math.max(b.upper, b.observed ?? 0)));
  const step = highest <= 0.2 ? 0.05 : 0.1;
  return Math.min(1, Math.ceil(highest / step - 1e-9) * step);
}

function calibrationFact(
  label: string,
  key: CalibrationFigure,
  value: number | null,
  interval: [number, number] | null | undefined,
): ChartFact {
  const [low, high] = CALIBRATION_RANGES[key];
  const noise = interval ? ` (95 % noise interval ${formatInterval(interval)})` : '';
  const flagged = offTarget(value, key);
  return {
    text: `${label} ${formatNumber(value)}${noise}; ideal 1`,
    flagged,
    flagReason: flagged ? `${label} outside ${low}–${high}` : undefined,
  };
}

/** A bin as people name it: 7.5–10 %. */
function binLabel(b: ReliabilityBin): string {
  return `${formatNumber(b.lower * 100)}–${formatNumber(b.upper * 100)} %`;
}

/**
 * Predicted against observed risk for one hospital's (or the pooled) released risk histogram: one
 * dot per public bin at its midpoint (the line spans the bin: where inside it the predictions fell
 * is not released), the observed death rate with its approximate 95 % interval of the test split's
 * sampling and the DP noise, dot area ∝ stays, and the diagonal where predicted = observed.
 */
export function reliabilityChart(options: {
  id: string;
  /** Hospital id or POOLED_NAME. */
  name: string;
  colour: string;
  histogram: RiskHistogram;
  metrics: Metrics | undefined;
  intervals: MetricIntervals | null | undefined;
}): ChartSpec {
  const { histogram, metrics, intervals, name } = options;
  const bins = reliabilityBins(histogram);
  const shown = bins.filter((b) => b.enough);
  const top = axisTop(shown);
  const noise =
    histogram.noiseStd > 0
      ? `Counts carry DP noise (SD ${formatNumber(histogram.noiseStd)} per count), included in the intervals.`
      : 'Exact counts.';
  const hidden = bins.length - shown.length;
  const plot = plotLibrary();
  const facts = [
    calibrationFact(
      'O:E',
      'observedExpectedRatio',
      metrics?.observedExpectedRatio ?? null,
      intervals?.observedExpectedRatio,
    ),
    calibrationFact(
      'Calibration slope',
      'calibrationSlope',
      metrics?.calibrationSlope ?? null,
      intervals?.calibrationSlope,
    ),
    {
      text: `≈ ${formatInteger(metrics?.n)} stays, ≈ ${formatInteger(metrics?.positives)} deaths (noisy counts)`,
      flagged: false,
    },
  ];
  return {
    id: options.id,
    title: `Reliability: ${name}`,
    description:
      shown.length === 0
        ? `No risk bin of ${name} holds enough stays to compare predicted and observed risk.`
        : `Observed against predicted death rate in ${shown.length} risk bin(s) of ${name}, with the diagonal where they are equal. O:E ${formatNumber(metrics?.observedExpectedRatio)}, calibration slope ${formatNumber(metrics?.calibrationSlope)}. The numbers are in the table below the chart.`,
    caption: `Dots above the dashed diagonal: more deaths than predicted. ${noise}${hidden > 0 ? ` ${hidden} bin(s) with fewer than ${MIN_STAYS_PER_BIN} stays, or where the noise swamps the count, are not drawn.` : ''}`,
    facts,
    plot: {
      width: SIZE,
      height: SIZE,
      marginLeft: 52,
      marginBottom: 44,
      x: {
        label: 'Predicted risk',
        domain: [0, top],
        tickFormat: '.0%',
        labelAnchor: 'center',
        labelArrow: 'none',
      },
      y: {
        label: 'Observed death rate',
        domain: [0, top],
        tickFormat: '.0%',
        grid: true,
        labelArrow: 'none',
      },
      r: { range: [2, 9] },
      marks: [
        plot.line(
          [
            [0, 0],
            [top, top],
          ],
          { stroke: IDEAL_COLOUR, strokeDasharray: '5 4', title: () => 'ideal: observed = predicted' },
        ),
        plot.ruleX(shown, {
          x: 'predicted',
          y1: (b: ReliabilityBin) => Math.min(top, b.interval![0]),
          y2: (b: ReliabilityBin) => Math.min(top, b.interval![1]),
          stroke: options.colour,
          strokeOpacity: 0.45,
          strokeWidth: 2,
        }),
        plot.ruleY(shown, {
          y: 'observed',
          x1: 'lower',
          x2: 'upper',
          stroke: options.colour,
          strokeWidth: 2,
        }),
        plot.dot(shown, {
          x: 'predicted',
          y: 'observed',
          r: 'stays',
          fill: options.colour,
          stroke: 'white',
          title: (b: ReliabilityBin) =>
            `${name}, predicted ${binLabel(b)}: observed ${formatPercent(b.observed, 1)} (95 % interval ${formatPercent(b.interval![0], 1)}–${formatPercent(b.interval![1], 1)}), ≈ ${formatInteger(b.stays)} stays, ≈ ${formatInteger(b.deaths)} deaths`,
        }),
      ],
    },
    table: {
      caption: `${name}: released risk histogram by bin (noisy counts, clamped at zero)`,
      columns: ['Predicted risk bin', 'Stays', 'Deaths', 'Observed rate', '95 % interval'],
      rows: bins.map((b) => [
        binLabel(b),
        formatInteger(b.stays),
        formatInteger(b.deaths),
        b.enough ? formatPercent(b.observed, 1) : 'too few to say',
        b.interval ? `${formatPercent(b.interval[0], 1)}–${formatPercent(b.interval[1], 1)}` : MISSING,
      ]),
    },
  };
}

/**
 * Reliability diagrams of a model's released evaluations: pooled first, then each hospital that
 * released one, in the report's order. Empty when the quality carries no histograms (exact scoring).
 */
export function reliabilityCharts(quality: ModelQuality, ids: readonly string[]): ChartSpec[] {
  const histograms = quality.histograms;
  if (!histograms) return [];
  const palette = seriesPalette(ids, true);
  const colour = (name: string) => palette.range[palette.domain.indexOf(name)];
  const hospitals = ids.filter((id) => histograms.perHospital[id]);
  return [
    reliabilityChart({
      id: 'chart-reliability-pooled',
      name: POOLED_NAME,
      colour: colour(POOLED_NAME),
      histogram: histograms.pooled,
      metrics: quality.pooled,
      intervals: quality.intervals,
    }),
    ...hospitals.map((id, i) =>
      reliabilityChart({
        id: `chart-reliability-${i + 1}`,
        name: id,
        colour: colour(id),
        histogram: histograms.perHospital[id],
        metrics: quality.perHospital[id],
        intervals: quality.hospitalIntervals?.[id],
      }),
    ),
  ];
}
