import { html, jsonScript, type Html } from './html';
import { badge, empty } from './layout';
import { duration, interval, round } from './numbers';
import type { RunDetail, RunOverview } from './console-data';

const OUTCOME_KIND: Record<string, string> = {
  running: 'info',
  succeeded: 'ok',
  halted: 'warn',
  failed: 'bad',
  diverged: 'bad',
};

const STATE_TEXT: Record<string, string> = {
  waiting: 'training…',
  submitted: 'update accepted',
  rejected: 'update rejected',
  dropped: 'dropped out',
  done: 'no update',
};

function progress(run: RunOverview): Html {
  const label = `round ${run.currentRound} of ${run.rounds}`;
  return html`<progress
      max="${run.rounds}"
      value="${run.currentRound}"
      aria-label="${run.runId}: ${label}"
    ></progress>
    <span>${label}</span>`;
}

function hospitalsList(run: RunOverview): Html {
  if (run.hospitals.length === 0) return html`<span class="hint">no round opened yet</span>`;
  return html`<ul class="hospitals">
    ${run.hospitals.map(
      (h) =>
        html`<li>
          <span class="state state-${h.state}">${h.hospitalId}: ${STATE_TEXT[h.state]}</span
          >${h.detail ? html` <span class="hint">(${h.detail})</span>` : ''}
        </li>`,
    )}
  </ul>`;
}

/** The runs table; re-fetched every 2 s by the page while a run trains (data-live). */
export function runsFragment(runs: RunOverview[]): Html {
  const live = runs.some((r) => r.status === 'running');
  if (runs.length === 0)
    return html`<div id="runs-live" data-live="true">
      ${empty('No runs in this store yet.', 'Start one with `npx himas train`; it appears here while it trains.')}
    </div>`;
  return html`<div id="runs-live" data-live="${live ? 'true' : 'false'}">
    <table>
      <caption>
        ${runs.length} run${runs.length === 1 ? '' : 's'}, newest first${live ? ' (updating live)' : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Outcome</th>
          <th scope="col">Progress</th>
          <th scope="col">Hospitals this round</th>
          <th scope="col">Elapsed</th>
          <th scope="col">Failures</th>
        </tr>
      </thead>
      <tbody>
        ${runs.map(
          (r) =>
            html`<tr data-run="${r.runId}">
              <th scope="row">
                <a href="/runs/${encodeURIComponent(r.runId)}">${r.runId}</a><br /><span class="hint"
                  >${r.createdAt.replace('T', ' ').slice(0, 19)} UTC</span
                >
              </th>
              <td>
                ${badge(r.outcome, OUTCOME_KIND[r.outcome] ?? 'info')}${r.outcomeReason ? html`<br /><span class="hint">${r.outcomeReason}</span>` : ''}
              </td>
              <td class="progress-cell">${progress(r)}</td>
              <td>${hospitalsList(r)}</td>
              <td>${duration(r.elapsedMs)}</td>
              <td>
                ${
                  r.failures.length === 0
                    ? html`<span class="hint">none</span>`
                    : html`<ul>
                        ${r.failures.map((f) => html`<li>${f}</li>`)}
                      </ul>`
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function runsPage(runs: RunOverview[]): Html {
  return html`<p>
      Every run in the store with its outcome. While a run trains this table refreshes itself every 2 seconds.
    </p>
    <div aria-live="polite" data-refresh="/runs?fragment=1">${runsFragment(runs)}</div>`;
}

/** Quality charts and their table: inside the live fragment, so they redraw as versions arrive. */
function qualitySection(detail: RunDetail): Html {
  const chartData = { series: detail.series, calibration: detail.calibration };
  return html`<h2>Quality</h2>
    <p class="hint">
      Pooled from the hospitals' DP-noised evaluations: each figure is an estimate, the band its 95 % noise
      interval.${detail.run.config.evaluateEveryRound ? '' : ' This run evaluates only its final model (no per-round figures).'}
    </p>
    ${jsonScript('chart-data', chartData)}
    ${
      detail.series.length === 0
        ? empty('No evaluated model version yet.', 'Figures appear once the hospitals report an evaluation.')
        : html`<div class="charts">
              <figure>
                <div data-chart="auroc" role="img" aria-label="Pooled AUROC by round"></div>
                <figcaption>Pooled AUROC by round</figcaption>
              </figure>
              <figure>
                <div data-chart="loss" role="img" aria-label="Pooled log loss by round"></div>
                <figcaption>Pooled log loss by round</figcaption>
              </figure>
              ${
                detail.calibration
                  ? html`<figure>
                      <div
                        data-chart="calibration"
                        role="img"
                        aria-label="Calibration of ${detail.calibration.versionId}: observed against predicted risk"
                      ></div>
                      <figcaption>
                        Calibration of ${detail.calibration.versionId} (noisy counts, SD
                        ${round(detail.calibration.noiseStd, 1)} each)
                      </figcaption>
                    </figure>`
                  : ''
              }
            </div>
            <table>
              <caption>
                The same figures as a table
              </caption>
              <thead>
                <tr>
                  <th scope="col">Round</th>
                  <th scope="col">Version</th>
                  <th scope="col">AUROC [95 %]</th>
                  <th scope="col">Loss [95 %]</th>
                </tr>
              </thead>
              <tbody>
                ${detail.series.map(
                  (s) =>
                    html`<tr>
                      <th scope="row">${s.round}</th>
                      <td>${s.versionId}</td>
                      <td>${round(s.auroc, 3)} ${interval(s.aurocInterval, 3)}</td>
                      <td>${round(s.loss, 3)} ${interval(s.lossInterval, 3)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }`;
}

export function runFragment(detail: RunDetail): Html {
  const o = detail.overview;
  return html`<div id="run-live" data-live="${o.status === 'running' ? 'true' : 'false'}">
    <dl class="facts">
      <dt>Outcome</dt>
      <dd>${badge(o.outcome, OUTCOME_KIND[o.outcome] ?? 'info')} ${o.outcomeReason ?? ''}</dd>
      <dt>Progress</dt>
      <dd>${progress(o)}</dd>
      <dt>Elapsed</dt>
      <dd>${duration(o.elapsedMs)}</dd>
      <dt>Hospitals this round</dt>
      <dd>${hospitalsList(o)}</dd>
      <dt>Failures</dt>
      <dd>
        ${
          o.failures.length === 0
            ? 'none'
            : html`<ul>
                ${o.failures.map((f) => html`<li>${f}</li>`)}
              </ul>`
        }
      </dd>
    </dl>
    <h2>Rounds</h2>
    ${
      detail.rounds.length === 0
        ? empty('No round opened yet.')
        : html`<table>
            <caption>
              Rounds of ${o.runId}
            </caption>
            <thead>
              <tr>
                <th scope="col">Round</th>
                <th scope="col">Status</th>
                <th scope="col">Accepted updates</th>
                <th scope="col">Model version</th>
                <th scope="col">Dropped</th>
              </tr>
            </thead>
            <tbody>
              ${detail.rounds.map(
                (r) =>
                  html`<tr>
                    <th scope="row">${r.round}</th>
                    <td>${r.status}${r.failureReason ? html`: ${r.failureReason}` : ''}</td>
                    <td>${r.participants.length} of ${r.expectedHospitals.length}</td>
                    <td>${r.modelVersionId ?? '—'}</td>
                    <td>${r.droppedHospitals.join(', ') || '—'}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${qualitySection(detail)}
  </div>`;
}

export function runPage(detail: RunDetail, reportUrl: string | null): Html {
  const { run } = detail;
  return html`<p>
      <a href="/runs">← all runs</a> ·
      <a href="/models?run=${encodeURIComponent(run.runId)}">its model versions</a> ·
      <a href="/agents?run=${encodeURIComponent(run.runId)}">its alerts and estimates</a
      >${reportUrl ? html` · <a href="${reportUrl}">final report (report.html)</a>` : ''}
    </p>
    <div data-refresh="/runs/${encodeURIComponent(run.runId)}?fragment=1">${runFragment(detail)}</div>
    <h2>Privacy</h2>
    ${
      detail.privacyStatements.length === 0
        ? empty('No guarantee recorded yet.')
        : html`<ul>
            ${detail.privacyStatements.map((s) => html`<li>${s}</li>`)}
          </ul>`
    }
    <h2>Configuration</h2>
    <details>
      <summary>Training settings of ${run.runId}</summary>
      <dl class="config">
        ${Object.entries(run.config).map(
          ([k, v]) =>
            html`<dt>${k}</dt>
              <dd>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>`,
        )}
      </dl>
    </details>
    <p>Hospitals: ${run.hospitals.join(', ')}. Data: ${run.dataSource.kind} ${run.dataSource.location}.</p>
    ${
      reportUrl
        ? html`<h2>Final report</h2>
            <p>
              <a href="${reportUrl}">Open report.html</a> (written by <code>himas train</code> when the run
              ended).
            </p>`
        : ''
    }`;
}
