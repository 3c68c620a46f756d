import type { TrainingReport } from '../../../schemas/report';
import { formatDuration, formatInteger, formatTimestamp, MISSING } from './format';
import { markup, trustedHtml, type HtmlValue, type SafeHtml } from './html-escape';
import { renderPrivacySection } from './privacy-section';
import { renderBaselinesSection, renderFinalModelSection } from './quality-tables';
import { renderReportCharts } from './report-charts';
import { renderRoundsSection } from './rounds-table';
import { REPORT_CSS } from './report-styles';

/**
 * `report.html`: one self-contained page rendered from exactly the `report.json` object. Inline CSS
 * and SVG only (the charts are drawn by Observable Plot on the server, src/cli/report/charts); the Content-Security-Policy forbids every network fetch, so the page opens the same
 * with or without a network and cannot leak anything by loading a resource.
 */
export function renderReportHtml(report: TrainingReport): string {
  return markup`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>HIMAS run ${report.runId} — ${OUTCOME_TITLE[report.outcome.kind]}</title>
<style>${trustedHtml(REPORT_CSS)}</style>
</head>
<body>
<main>
${renderHeader(report)}
${renderPrivacySection(report.privacy, report.outcome.kind === 'succeeded', report.hospitalPrivacy)}
<section id="charts">
<h2>Training, round by round</h2>
${renderReportCharts(report)}
</section>
${renderFinalModelSection(report)}
${renderBaselinesSection(report)}
${renderRoundsSection(report)}
${renderConfigSection(report)}
${renderNotesSection(report)}
<footer>Rendered by HIMAS from <code>report.json</code> of run <code>${report.runId}</code>. This page is self-contained: it loads nothing from the network.</footer>
</main>
</body>
</html>
`.value;
}

const OUTCOME_TITLE: Record<TrainingReport['outcome']['kind'], string> = {
  succeeded: 'succeeded',
  halted: 'halted, no model to serve',
  failed: 'failed, no model to serve',
  diverged: 'diverged, no model to serve',
  running: 'not finished',
};

/**
 * The verdict first: a run that left no model to serve says so in a red box before anything else,
 * so no table further down can be read as its final model.
 */
function renderOutcome(report: TrainingReport): SafeHtml {
  const { outcome } = report;
  if (outcome.kind === 'succeeded')
    return markup`<p class="outcome outcome-succeeded"><strong>Succeeded:</strong> ${outcome.reason}.</p>`;
  return markup`<p class="outcome outcome-${outcome.kind}"><strong>No model to serve — ${OUTCOME_TITLE[outcome.kind]}:</strong> ${outcome.reason}.</p>`;
}

function fact(label: string, value: HtmlValue): SafeHtml {
  return markup`<div>
    <dt>${label}</dt>
    <dd>${value}</dd>
  </div>`;
}

function renderHeader(report: TrainingReport): SafeHtml {
  const train = report.hospitals.reduce((sum, h) => sum + (h.trainStays ?? 0), 0);
  const test = report.hospitals.reduce((sum, h) => sum + (h.testStays ?? 0), 0);
  const hospitalRows = report.hospitals.map(
    (h) =>
      markup`<tr>
        <th scope="row">${h.hospitalId}</th>
        <td class="num">${formatInteger(h.trainStays)}</td>
        <td class="num">${formatInteger(h.testStays)}</td>
      </tr>`,
  );
  return markup`<header>
    <h1>HIMAS training run <span class="run-id">${report.runId}</span></h1>
    <p class="subtitle">
      Federated ICU-mortality model: ${report.hospitals.length}
      hospital${report.hospitals.length === 1 ? '' : 's'}, ${report.rounds.length}
      round${report.rounds.length === 1 ? '' : 's'}
    </p>
    ${renderOutcome(report)}
    <dl class="run-facts">
      ${fact('Status', markup`<span class="badge badge-${report.status}">${report.status}</span>`)}
      ${fact('Backend', report.backend)} ${fact('Wall time', formatDuration(report.wallSeconds))}
      ${fact('Created', formatTimestamp(report.createdAt))} ${fact('Completed', formatTimestamp(report.completedAt))}
      ${fact('Data source', markup`${report.dataSource.kind}: <code>${report.dataSource.location}</code>`)}
    </dl>
    <h2>Hospitals</h2>
    <div class="table-wrap">
      <table class="hospitals">
        <thead>
          <tr>
            <th scope="col">Hospital</th>
            <th scope="col" class="num">Train stays</th>
            <th scope="col" class="num">Test stays</th>
          </tr>
        </thead>
        <tbody>
          ${hospitalRows}
          <tr class="pooled">
            <th scope="row">All hospitals</th>
            <td class="num">${formatInteger(train)}</td>
            <td class="num">${formatInteger(test)}</td>
          </tr>
        </tbody>
      </table>
    </div>
  </header>`;
}

function configValue(value: unknown): string {
  if (value === null || value === undefined) return MISSING;
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

function renderConfigSection(report: TrainingReport): SafeHtml {
  const entries = Object.entries(report.config).filter(([, v]) => v !== undefined);
  return markup`<section id="configuration">
    <h2>Configuration</h2>
    <dl class="config">
      ${entries.map(
        ([key, value]) =>
          markup`<dt><code>${key}</code></dt>
            <dd>${configValue(value)}</dd>`,
      )}
    </dl>
  </section>`;
}

function renderNotesSection(report: TrainingReport): SafeHtml {
  const body =
    report.notes.length === 0
      ? markup`<p class="muted">No notes.</p>`
      : markup`<ul class="notes">
          ${report.notes.map((n) => markup`<li>${n}</li>`)}
        </ul>`;
  return markup`<section id="notes">
    <h2>Notes</h2>
    ${body}
  </section>`;
}
