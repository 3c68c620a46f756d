import { CARE_UNITS, NUMERIC_FEATURES } from '../core/data/features';
import { PLAUSIBLE_RANGES } from '../core/agents/stay-input';
import type { HospitalLedgersView } from '../cli/privacy-ledger-view';
import { html, type Html } from './html';
import { badge, empty } from './layout';
import { delta, epsilon, interval, round } from './numbers';
import type { TreatmentEstimateRow } from '../../schemas/warehouse';
import type { AgentsView, AuditView, ModelRow } from './console-data';

const SERVING_KIND = { served: 'ok', refused: 'bad', superseded: 'info' } as const;

function runPicker(action: string, runIds: string[], selected: string | undefined): Html {
  return html`<form method="get" action="${action}" class="filters">
    <label for="run-select">Run</label>
    <select id="run-select" name="run">
      ${runIds.map((id) => html`<option value="${id}" ${id === selected ? html` selected` : ''}>${id}</option>`)}
    </select>
    <button type="submit">Show</button>
  </form>`;
}

export function modelsPage(rows: ModelRow[], runIds: string[], runId: string | undefined): Html {
  const picker = html`<form method="get" action="/models" class="filters">
    <label for="run-filter">Run</label>
    <select id="run-filter" name="run">
      <option value="">all runs</option>
      ${runIds.map((id) => html`<option value="${id}" ${id === runId ? html` selected` : ''}>${id}</option>`)}
    </select>
    <button type="submit">Filter</button>
  </form>`;
  if (rows.length === 0)
    return html`${picker}${empty('No model versions yet.', 'A run publishes r0000 (untrained) at its start and one version per closed round.')}`;
  return html`${picker}
    <p>
      Each version's lineage (its parent and the hospitals whose updates made it) and its privacy guarantee,
      with whether clinical decision support would serve it.
    </p>
    <table>
      <caption>
        ${rows.length} model version${rows.length === 1 ? '' : 's'}, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Round</th>
          <th scope="col">Parent</th>
          <th scope="col">Contributing hospitals</th>
          <th scope="col">Pooled AUROC [95 %]</th>
          <th scope="col">Guarantees (unit, ε, δ)</th>
          <th scope="col">Clinical support</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          ({ version: v, serving, guarantees }) =>
            html`<tr>
              <th scope="row">
                ${v.versionId}<br /><span class="hint"
                  >run <a href="/runs/${encodeURIComponent(v.runId)}">${v.runId}</a></span
                >
              </th>
              <td>${v.round}</td>
              <td>${v.parentVersionId ?? '— (initial)'}</td>
              <td>
                ${v.participants.length === 0 ? html`<span class="hint">none (public initial model)</span>` : v.participants.join(', ')}
              </td>
              <td>
                ${v.pooled ? html`${round(v.pooled.metrics.auroc, 3)} ${interval(v.pooled.intervals.auroc, 3)}` : html`<span class="hint">not evaluated</span>`}
              </td>
              <td>
                ${
                  guarantees.length === 0
                    ? html`<span class="hint">none recorded</span>`
                    : html`<ul>
                        ${v.privacy.map((g, i) => html`<li><strong>${g.unit}</strong>: ε = ${epsilon(g.epsilon)}, δ = ${delta(g.delta)}<br /><span class="hint">${guarantees[i]}</span></li>`)}
                      </ul>`
                }
              </td>
              <td>
                ${badge(serving.state, SERVING_KIND[serving.state])}${serving.reason ? html`<br /><span class="hint">${serving.reason}</span>` : ''}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

export function ledgersPage(view: HospitalLedgersView): Html {
  if (view.hospitals.length === 0)
    return empty(
      `No hospital has a privacy ledger in ${view.location} yet.`,
      'A hospital charges its ledger when it first joins a run.',
    );
  return html`<p>
      Each hospital's one privacy ledger (${view.location}), recomputed from its own signed entries with the
      RDP accountant at δ = ${delta(view.delta)}. ε = ∞ means a release without noise.
    </p>
    ${view.hospitals.map((h) => {
      const spent = h.lifetime.epsilon;
      const remaining =
        h.budgetEpsilon === null || spent === null ? null : Math.max(0, h.budgetEpsilon - spent);
      const id = `ledger-${h.hospitalId}`;
      return html`<section aria-labelledby="${id}">
        <h2 id="${id}">${h.hospitalId}</h2>
        <dl class="facts">
          <dt>Spent (lifetime, patient-level)</dt>
          <dd>
            ε = ${epsilon(spent)}
            <span class="hint"
              >(training split ${epsilon(h.lifetime.train)}, test split ${epsilon(h.lifetime.test)})</span
            >
          </dd>
          <dt>Budget</dt>
          <dd>${h.budgetEpsilon === null ? 'none set' : html`ε = ${round(h.budgetEpsilon)}`}</dd>
          <dt>Remaining</dt>
          <dd>
            ${h.budgetEpsilon === null ? '—' : spent === null ? 'none: a release without noise was charged' : html`ε = ${round(remaining)} <meter min="0" max="${h.budgetEpsilon}" value="${spent}" aria-label="${h.hospitalId}: ε spent of its budget">${round(spent)}</meter>`}
          </dd>
        </dl>
        <table>
          <caption>
            ${h.hospitalId}: each mechanism composed alone over the whole ledger
          </caption>
          <thead>
            <tr>
              <th scope="col">Mechanism</th>
              <th scope="col">Split</th>
              <th scope="col">ε</th>
            </tr>
          </thead>
          <tbody>
            ${h.byMechanism.map(
              (m) =>
                html`<tr>
                  <th scope="row">${m.mechanism}</th>
                  <td>${m.partitions.join(', ')}</td>
                  <td>${epsilon(m.epsilon)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <table>
          <caption>
            ${h.hospitalId}: runs
          </caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">ε (worse split)</th>
              <th scope="col">train</th>
              <th scope="col">test</th>
            </tr>
          </thead>
          <tbody>
            ${h.runs.map(
              (r) =>
                html`<tr>
                  <th scope="row">${r.runId}</th>
                  <td>${epsilon(r.epsilon)}</td>
                  <td>${epsilon(r.train)}</td>
                  <td>${epsilon(r.test)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <details>
          <summary>${h.entries.length} ledger entr${h.entries.length === 1 ? 'y' : 'ies'}</summary>
          <table>
            <caption>
              ${h.hospitalId}: entries in order
            </caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Run</th>
                <th scope="col">Kind</th>
                <th scope="col">Mechanisms</th>
                <th scope="col">Lifetime ε after</th>
                <th scope="col">Charged at</th>
              </tr>
            </thead>
            <tbody>
              ${h.entries.map(
                (e) =>
                  html`<tr>
                    <th scope="row">${e.sequence}</th>
                    <td>${e.runId}</td>
                    <td>${e.kind}</td>
                    <td>
                      ${e.mechanisms.map((m) => `${m.mechanism} ×${m.uses} (z = ${round(m.noiseMultiplier)})`).join('; ')}
                    </td>
                    <td>${epsilon(e.epsilonAfter)}</td>
                    <td>${e.chargedAt.replace('T', ' ').slice(0, 19)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </details>
      </section>`;
    })}`;
}

export function agentsPage(view: AgentsView | null, runIds: string[], runId: string | undefined): Html {
  if (runIds.length === 0) return empty('No runs yet.', 'Start one with `npx himas train`.');
  if (!view)
    return html`${runPicker('/agents', runIds, runId)}${empty(`No run '${runId ?? ''}' in this store.`)}`;
  const { clinical, surveillanceTreatment: st, run } = view;
  return html`${runPicker('/agents', runIds, run.runId)}
    <section aria-labelledby="cds">
      <h2 id="cds">Clinical decision support</h2>
      ${clinical.served ? html`<p>Serves ${badge(clinical.served, 'ok')} for run ${run.runId}.</p>` : html`<p>${badge('refuses', 'bad')} ${clinical.refusal}</p>`}
      ${
        clinical.refused.length > 0
          ? html`<p>Refused versions:</p>
              <ul>
                ${clinical.refused.map((r) => html`<li>${r.versionId}: ${r.reason}</li>`)}
              </ul>`
          : ''
      }
    </section>
    <section aria-labelledby="surv">
      <h2 id="surv">Disease surveillance</h2>
      ${
        st.surveillance.hospitalsReported.length === 0
          ? empty(
              'No surveillance counts released for this run.',
              'Off by default; `--surveillance-noise-multiplier Z` turns it on (charged to each hospital’s ledger).',
            )
          : html`<p>
                Hospitals that released weekly counts: ${st.surveillance.hospitalsReported.join(', ')}.
                ${st.surveillance.releaseEpsilon.map((r) => `${r.hospitalId}: ε = ${epsilon(r.epsilon)} (δ = ${delta(r.delta)}) for these releases`).join('; ')}.
              </p>
              ${
                st.surveillance.alerts.length === 0
                  ? empty('No alert: CUSUM did not cross its threshold.')
                  : html`<table>
                      <caption>
                        Surveillance alerts (CUSUM h = ${run.config.surveillanceThreshold} on DP-noised weekly
                        counts)
                      </caption>
                      <thead>
                        <tr>
                          <th scope="col">Hospital</th>
                          <th scope="col">Signal</th>
                          <th scope="col">Week</th>
                          <th scope="col">Excess stays (≈)</th>
                          <th scope="col">Message</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${st.surveillance.alerts.map(
                          (a) =>
                            html`<tr>
                              <th scope="row">${a.hospitalId}</th>
                              <td>${a.signal}</td>
                              <td>${a.week} (${a.weekStart})</td>
                              <td>${round(a.size, 1)}</td>
                              <td>${a.message}</td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>`
              }`
      }
    </section>
    <section aria-labelledby="treat">
      <h2 id="treat">Treatment estimates</h2>
      ${
        st.treatment.estimates.length === 0
          ? empty(
              'No treatment estimate for this run.',
              'Off by default; `--treatment-noise-multiplier Z` turns it on.',
            )
          : html`<table>
              <caption>
                Adjusted odds ratio of day-1 vasopressors on mortality (Mantel–Haenszel, 95 % CI)
              </caption>
              <thead>
                <tr>
                  <th scope="col">Scope</th>
                  <th scope="col">Odds ratio [95 % CI]</th>
                  <th scope="col">Caveats</th>
                </tr>
              </thead>
              <tbody>
                ${st.treatment.estimates.map(
                  (e) =>
                    html`<tr>
                      <th scope="row">${e.scope === 'pooled' ? 'pooled' : e.hospitalId}</th>
                      <td>${estimateText(e)}</td>
                      <td>${caveats(e)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
}

const oddsRatio = (logOr: number | null): string =>
  logOr === null ? 'not estimable' : round(Math.exp(logOr));

function estimateText(e: TreatmentEstimateRow): string {
  if (e.logOddsRatio === null) return 'not estimable';
  return `${oddsRatio(e.logOddsRatio)} [${oddsRatio(e.ciLow)}, ${oddsRatio(e.ciHigh)}] (crude ${oddsRatio(e.crudeLogOddsRatio)}; ${round(e.stays, 0)} stays, noisy)`;
}

function caveats(e: TreatmentEstimateRow): Html {
  return html`<p>${e.summary}</p>
    <p class="hint">${e.adjustment}</p>
    ${
      e.caveats.length
        ? html`<ul>
            ${e.caveats.map((c) => html`<li>${c}</li>`)}
          </ul>`
        : ''
    }`;
}

export function auditPage(
  view: AuditView,
  filter: { runId?: string; action?: string; outcome?: string },
): Html {
  return html`<form method="get" action="/audit" class="filters">
      <label for="audit-run">Run</label>
      <select id="audit-run" name="run">
        <option value="">any</option>
        ${view.runIds.map((id) => html`<option value="${id}" ${id === filter.runId ? html` selected` : ''}>${id}</option>`)}
      </select>
      <label for="audit-action">Action</label>
      <select id="audit-action" name="action">
        <option value="">any</option>
        ${view.actions.map((a) => html`<option value="${a}" ${a === filter.action ? html` selected` : ''}>${a}</option>`)}
      </select>
      <label for="audit-outcome">Outcome</label>
      <select id="audit-outcome" name="outcome">
        <option value="">any</option>
        ${['accepted', 'rejected', 'info'].map((o) => html`<option value="${o}" ${o === filter.outcome ? html` selected` : ''}>${o}</option>`)}
      </select>
      <button type="submit">Filter</button>
    </form>
    ${
      view.records.length === 0
        ? empty(
            'No audit record matches.',
            'The log fills as runs enrol hospitals, accept or reject updates and publish models.',
          )
        : html`<table>
            <caption>
              ${view.records.length === view.total ? `${view.total} record${view.total === 1 ? '' : 's'}` : `newest ${view.records.length} of ${view.total} records`},
              newest first (no patient data in the log)
            </caption>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Run</th>
                <th scope="col">Round</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Outcome</th>
                <th scope="col">Subject</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              ${view.records.map(
                (r) =>
                  html`<tr>
                    <td>${r.time.replace('T', ' ').slice(0, 19)}</td>
                    <td>${r.runId ?? '—'}</td>
                    <td>${r.round ?? '—'}</td>
                    <td>${r.actor}</td>
                    <th scope="row">${r.action}</th>
                    <td>
                      ${badge(r.outcome, r.outcome === 'rejected' ? 'bad' : r.outcome === 'accepted' ? 'ok' : 'info')}
                    </td>
                    <td>${r.subject ?? '—'}</td>
                    <td>${r.reason ?? ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

const LABELS: Record<string, string> = {
  age: 'Age',
  is_male: 'Male (1) or not (0)',
  gcs_unable: 'GCS not assessable (1) or assessable (0)',
};

export function calculatorPage(runIds: string[], runId: string | undefined): Html {
  if (runIds.length === 0)
    return empty('No runs yet, so no model to ask.', 'Train one with `npx himas train`.');
  return html`<p>
      One ICU stay's first-24-hour values → in-hospital mortality risk from the run's newest version that
      clinical decision support may serve (the same service as <code>himas predict --run RUN --stay</code>).
      Leave a value empty if it was not measured. What you type is sent only to this console's server, used
      for this answer and never stored or logged.
    </p>
    <form id="calculator" class="calculator" novalidate>
      <fieldset>
        <legend>Model</legend>
        <label for="calc-run">Run</label>
        <select id="calc-run" name="runId">
          ${runIds.map((id) => html`<option value="${id}" ${id === runId ? html` selected` : ''}>${id}</option>`)}
        </select>
      </fieldset>
      <fieldset>
        <legend>The stay</legend>
        <div class="grid">
          <div>
            <label for="f-first_careunit">First care unit</label>
            <select id="f-first_careunit" name="first_careunit">
              ${CARE_UNITS.map((u) => html`<option value="${u}">${u}</option>`)}
            </select>
          </div>
          ${NUMERIC_FEATURES.map((name) => {
            const range = PLAUSIBLE_RANGES[name];
            const hint = range
              ? `${range.min}–${range.max}${range.unit === '0/1' ? '' : ` ${range.unit}`}`
              : '';
            return html`<div>
              <label for="f-${name}"
                >${LABELS[name] ?? name}${range && range.unit !== '0/1' ? html` <span class="unit">(${range.unit})</span>` : ''}</label
              >
              <input
                id="f-${name}"
                name="${name}"
                type="number"
                step="any"
                inputmode="decimal"
                aria-describedby="h-${name}"
                autocomplete="off"
              />
              <span class="hint" id="h-${name}">${hint}</span>
            </div>`;
          })}
        </div>
      </fieldset>
      <button type="submit">Estimate risk</button>
    </form>
    <section id="calc-result" aria-live="polite" tabindex="-1"></section>`;
}
