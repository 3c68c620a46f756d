import type { TrainingReport } from '../../../schemas/report';
import {
  type ChartSpec,
  renderChartFigure,
  reliabilityCharts,
  reportHospitalIds,
  trainLossChart,
  versionMetricChart,
} from './charts';
import { markup, type SafeHtml } from './html-escape';

type Omittable = ChartSpec | { omitted: string };

function chartOrNote(chart: Omittable, noteId: string): SafeHtml {
  return 'omitted' in chart
    ? markup`<p class="chart-omitted" id="${noteId}">${chart.omitted}</p>`
    : renderChartFigure(chart);
}

/** The round-by-round charts of report.html; a one-line note in place of a chart with nothing to draw. */
export function renderReportCharts(report: TrainingReport): SafeHtml {
  return markup`${chartOrNote(versionMetricChart(report, 'auroc'), 'no-auroc')}
  ${chartOrNote(versionMetricChart(report, 'loss'), 'no-test-loss')}
  ${chartOrNote(trainLossChart(report), 'no-train-loss')}`;
}

/**
 * Reliability diagrams of the final model, pooled and per hospital, from the released histograms;
 * a line saying why when there are none.
 */
export function renderReliabilitySection(report: TrainingReport): SafeHtml {
  const quality = report.finalModel?.quality;
  if (!quality) return markup``;
  const charts = reliabilityCharts(quality, reportHospitalIds(report));
  const heading = markup`<h3 id="reliability">Calibration: predicted against observed risk</h3>`;
  if (charts.length === 0)
    return markup`${heading}<p class="muted">No released risk histograms in this report: no reliability diagram.</p>`;
  const [pooled, ...hospitals] = charts;
  return markup`${heading}
    <p class="muted">
      A well-calibrated model's dots lie on the diagonal: of stays given a 10 % risk, 10 % die. Each
      diagram is read off the same DP-noised risk histograms as the figures above (13 public bins), so
      every count is an estimate; the vertical bars are approximate 95 % intervals of the test split's
      sampling and the noise together.
    </p>
    <div class="reliability-grid">
      ${renderChartFigure(pooled, 'chart reliability pooled')}
      ${hospitals.map((spec) => renderChartFigure(spec, 'chart reliability'))}
    </div>`;
}
