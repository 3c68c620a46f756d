import type { TrainingReport } from '../../../schemas/report';
import { markup, trustedHtml, type SafeHtml } from './html-escape';
import { roundDomain, trainLossSeries, versionMetricSeries } from './report-series';
import { renderLineChart, type LineChartOptions } from './svg-line-chart';

function figure(options: LineChartOptions, caption: string): SafeHtml {
  return markup`<figure class="chart">
    ${trustedHtml(renderLineChart(options))}
    <figcaption>${caption}</figcaption>
  </figure>`;
}

/** The three round-by-round charts of report.html. */
export function renderReportCharts(report: TrainingReport): SafeHtml {
  const xDomain = roundDomain(report);
  return markup`${figure(
    {
      id: 'chart-auroc',
      title: 'Test AUROC by model version',
      xLabel: 'Model version (round; 0 = initial model)',
      yLabel: 'AUROC',
      series: versionMetricSeries(report, 'auroc'),
      xDomain,
      yLimits: [0, 1],
      integerX: true,
    },
    "Each hospital evaluates every model version on its own held-out test split; pooled is computed from the hospitals' shared risk histograms, never from pooled records.",
  )}
  ${figure(
    {
      id: 'chart-test-loss',
      title: 'Test loss by model version',
      xLabel: 'Model version (round; 0 = initial model)',
      yLabel: 'Mean binary cross-entropy',
      series: versionMetricSeries(report, 'loss'),
      xDomain,
      yLimits: [0, Number.POSITIVE_INFINITY],
      integerX: true,
    },
    'Lower is better. Gaps are versions a hospital did not evaluate or metrics that could not be computed.',
  )}
  ${figure(
    {
      id: 'chart-train-loss',
      title: 'Training loss by round',
      xLabel: 'Round',
      yLabel: 'Training loss (last local epoch)',
      series: trainLossSeries(report),
      xDomain,
      yLimits: [0, Number.POSITIVE_INFINITY],
      integerX: true,
    },
    "Each hospital's mean training loss over its last local epoch in the round; gaps are rounds it did not take part in.",
  )}`;
}
