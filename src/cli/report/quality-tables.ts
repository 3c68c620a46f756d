import type { Metrics } from '../../../schemas/metrics';
import type { ModelQuality, TrainingReport } from '../../../schemas/report';
import { formatFixed, formatInteger, formatPercent, MISSING } from './format';
import { markup, type SafeHtml } from './html-escape';
import { POOLED_NAME, reportHospitalIds } from './report-series';

/** Per-hospital columns fit up to this many hospitals; beyond, one wrapped list per baseline. */
const MAX_HOSPITAL_COLUMNS = 6;

function metricCells(m: Metrics | undefined): SafeHtml {
  if (!m) return markup`<td class="num" colspan="7">not evaluated</td>`;
  const prevalence = m.n > 0 ? markup` <span class="muted">(${formatPercent(m.positives / m.n)})</span>` : '';
  return markup`<td class="num">${formatInteger(m.n)}</td>
    <td class="num">${formatInteger(m.positives)}${prevalence}</td>
    <td class="num">${formatFixed(m.auroc)}</td>
    <td class="num">${formatFixed(m.auprc)}</td>
    <td class="num">${formatFixed(m.brier)}</td>
    <td class="num">${formatFixed(m.observedExpectedRatio)}</td>
    <td class="num">${formatFixed(m.calibrationSlope)}</td>`;
}

function qualityRows(quality: ModelQuality, ids: string[]): SafeHtml {
  const hospitals = ids.map(
    (id) =>
      markup`<tr>
        <th scope="row">${id}</th>
        ${metricCells(quality.perHospital[id])}
      </tr>`,
  );
  return markup`${hospitals}
    <tr class="pooled">
      <th scope="row">${POOLED_NAME}</th>
      ${metricCells(quality.pooled)}
    </tr>`;
}

export function renderFinalModelSection(report: TrainingReport): SafeHtml {
  const final = report.finalModel;
  const heading = markup`<h2>Final model</h2>`;
  if (!final)
    return markup`<section id="final-model">
      ${heading}
      <p class="muted">This run left no model to serve: ${report.outcome.reason}.${report.outcome.divergedVersionId ? ` Its last version, ${report.outcome.divergedVersionId}, is in the versions above and is not served.` : ''}</p>
    </section>`;
  const where = markup`<p class="muted">
    Version
    <code>${final.versionId}</code>${final.directory ? markup`, saved in <code>${final.directory}</code>` : ''}.
    Each hospital's own held-out test split, as its DP-noised evaluation release reports it: every
    figure is an estimate (counts carry Gaussian noise; n and positives are noisy too).
  </p>`;
  if (!final.quality)
    return markup`<section id="final-model">
      ${heading}${where}
      <p class="muted">The final model was not evaluated.</p>
    </section>`;
  return markup`<section id="final-model">
    ${heading}${where}
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Hospital</th>
            <th scope="col" class="num">n</th>
            <th scope="col" class="num">Positives</th>
            <th scope="col" class="num">AUROC</th>
            <th scope="col" class="num">AUPRC</th>
            <th scope="col" class="num">Brier</th>
            <th scope="col" class="num">O:E</th>
            <th scope="col" class="num">Calibration slope</th>
          </tr>
        </thead>
        <tbody>
          ${qualityRows(final.quality, reportHospitalIds(report))}
        </tbody>
      </table>
    </div>
    ${noiseIntervalsNote(final.quality)}
  </section>`;
}

/** The pooled figures' approximate 95 % intervals under the DP noise, when the quality came from releases. */
function noiseIntervalsNote(quality: ModelQuality): SafeHtml {
  const iv = quality.intervals;
  if (!iv) return markup``;
  const range = (r: [number, number] | null) => (r ? `${formatFixed(r[0])}–${formatFixed(r[1])}` : MISSING);
  return markup`<p class="muted">Pooled, approximate 95 % intervals of the DP noise: AUROC ${range(iv.auroc)},
    AUPRC ${range(iv.auprc)}, Brier ${range(iv.brier)}, O:E ${range(iv.observedExpectedRatio)},
    calibration slope ${range(iv.calibrationSlope)}. The sampling variation of the test splits comes on top.</p>`;
}

export function renderBaselinesSection(report: TrainingReport): SafeHtml {
  const ids = reportHospitalIds(report);
  const label = markup`<p class="sim-only">
    <strong>Simulation only:</strong> every baseline below pools records, which a real deployment never does.
    They show what the federated model is up against, not something HIMAS would run.
  </p>`;
  if (report.baselines.length === 0)
    return markup`<section id="baselines">
      <h2>Baselines</h2>
      ${label}
      <p class="muted">No baselines were computed.</p>
    </section>`;
  const asColumns = ids.length <= MAX_HOSPITAL_COLUMNS;
  const federated = report.finalModel?.quality
    ? [
        {
          name: 'HIMAS federated (final model)',
          description: 'For comparison: the model this run trained.',
          quality: report.finalModel.quality,
          reference: true,
        },
      ]
    : [];
  const rows = [...federated, ...report.baselines.map((b) => ({ ...b, reference: false }))].map((b) => {
    const perHospital = asColumns
      ? ids.map((id) => markup`<td class="num">${formatFixed(b.quality.perHospital[id]?.auroc)}</td>`)
      : markup`<td class="per-hospital">
          ${ids.map(
            (id, i) =>
              markup`${i > 0 ? ' · ' : ''}<span class="nowrap"
                  >${id} ${formatFixed(b.quality.perHospital[id]?.auroc)}</span
                >`,
          )}
        </td>`;
    return markup`<tr${b.reference ? markup` class="reference"` : ''}>
      <th scope="row">${b.name}<span class="description">${b.description}</span></th>
      <td class="num">${formatFixed(b.quality.pooled.auroc)}</td>
      <td class="num">${formatFixed(b.quality.pooled.auprc)}</td>
      <td class="num">${formatFixed(b.quality.pooled.brier)}</td>
      ${perHospital}
    </tr>`;
  });
  const hospitalHeads = asColumns ? ids.map((id) => markup`<th scope="col" class="num">${id}</th>`) : '';
  return markup`<section id="baselines">
    <h2>Baselines</h2>
    ${label}
    <div class="table-wrap">
      <table class="baselines">
        <thead>
          <tr>
            <th scope="col" rowspan="2">Baseline</th>
            <th scope="colgroup" colspan="3" class="group">Pooled</th>
            <th
              scope="colgroup"
              ${asColumns ? markup`colspan="${ids.length}"` : markup`rowspan="2"`}
              class="group"
            >
              AUROC by hospital
            </th>
          </tr>
          <tr>
            <th scope="col" class="num">AUROC</th>
            <th scope="col" class="num">AUPRC</th>
            <th scope="col" class="num">Brier</th>
            ${hospitalHeads}
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>
    ${privacyCostLine(report)}
    <p class="muted">${MISSING} = not computable (e.g. a test split with one class).</p>
  </section>`;
}

/** With patient-level DP-SGD: the private model against the non-private federated one, side by side. */
function privacyCostLine(report: TrainingReport) {
  const reference = report.baselines.find((b) => b.name === 'non-private federated');
  const exact = report.baselines.find((b) => b.name === 'federated (exact)');
  const privateAuroc = exact?.quality.pooled.auroc ?? report.finalModel?.quality?.pooled.auroc ?? null;
  const publicAuroc = reference?.quality.pooled.auroc ?? null;
  if (!reference || privateAuroc === null || publicAuroc === null) return '';
  const difference = privateAuroc - publicAuroc;
  return markup`<p class="privacy-cost">
    <strong>Cost of patient-level privacy:</strong> pooled test AUROC ${formatFixed(privateAuroc)} with DP-SGD
    (ε = ${String(report.config.patientTargetEpsilon)} per hospital, δ = ${String(report.config.delta)}) vs
    ${formatFixed(publicAuroc)} for the non-private federated model: difference
    ${`${difference >= 0 ? '+' : ''}${formatFixed(difference)}`}.
  </p>`;
}
