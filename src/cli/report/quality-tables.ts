import type { Metrics } from '../../../schemas/metrics';
import type { ModelQuality, TrainingReport } from '../../../schemas/report';
import {
  formatDifference,
  formatInteger,
  formatInterval,
  formatNumber,
  formatPercent,
  MISSING,
} from './format';
import { markup, type SafeHtml } from './html-escape';
import {
  CALIBRATION_RANGES,
  offTarget,
  POOLED_NAME,
  reportHospitalIds,
  type CalibrationFigure,
} from './charts';
import { renderReliabilitySection } from './report-charts';
import { localOnlyWins } from '../baseline-comparison';

/** Per-hospital columns fit up to this many hospitals; beyond, one wrapped list per baseline. */
const MAX_HOSPITAL_COLUMNS = 6;

function calibrationCell(value: number | null, key: CalibrationFigure): SafeHtml {
  const [low, high] = CALIBRATION_RANGES[key];
  if (!offTarget(value, key)) return markup`<td class="num">${formatNumber(value)}</td>`;
  const what = key === 'observedExpectedRatio' ? 'O:E' : 'calibration slope';
  return markup`<td class="num off-target" title="${what} outside ${String(low)}–${String(high)} (1 is ideal)"
    >${formatNumber(value)} ⚠</td>`;
}

const CALIBRATION_LEGEND = markup`<p class="muted">O:E (observed over expected deaths) and calibration
  slope are ideal at 1; ⚠ marks O:E outside ${String(CALIBRATION_RANGES.observedExpectedRatio[0])}–${String(CALIBRATION_RANGES.observedExpectedRatio[1])}
  and a slope outside ${String(CALIBRATION_RANGES.calibrationSlope[0])}–${String(CALIBRATION_RANGES.calibrationSlope[1])}
  (above 1 the risks are too moderate, below 1 too extreme).</p>`;

function metricCells(m: Metrics | undefined): SafeHtml {
  if (!m) return markup`<td class="num" colspan="7">not evaluated</td>`;
  const prevalence = m.n > 0 ? markup` <span class="muted">(${formatPercent(m.positives / m.n)})</span>` : '';
  return markup`<td class="num">${formatInteger(m.n)}</td>
    <td class="num">${formatInteger(m.positives)}${prevalence}</td>
    <td class="num">${formatNumber(m.auroc)}</td>
    <td class="num">${formatNumber(m.auprc)}</td>
    <td class="num">${formatNumber(m.brier)}</td>
    ${calibrationCell(m.observedExpectedRatio, 'observedExpectedRatio')}
    ${calibrationCell(m.calibrationSlope, 'calibrationSlope')}`;
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
    ${CALIBRATION_LEGEND}
    ${renderReliabilitySection(report)}
  </section>`;
}

/** The pooled figures' approximate 95 % intervals under the DP noise, when the quality came from releases. */
function noiseIntervalsNote(quality: ModelQuality): SafeHtml {
  const iv = quality.intervals;
  if (!iv) return markup``;
  const range = formatInterval;
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
  // The final model's noisy figures, unless the exact federated baseline already shows it.
  const exactRow = report.baselines.some((b) => b.name === 'federated (exact)');
  const federated =
    report.finalModel?.quality && !exactRow
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
      ? ids.map((id) => markup`<td class="num">${formatNumber(b.quality.perHospital[id]?.auroc)}</td>`)
      : markup`<td class="per-hospital">
          ${ids.map(
            (id, i) =>
              markup`${i > 0 ? ' · ' : ''}<span class="nowrap"
                  >${id} ${formatNumber(b.quality.perHospital[id]?.auroc)}</span
                >`,
          )}
        </td>`;
    return markup`<tr${b.reference ? markup` class="reference"` : ''}>
      <th scope="row">${b.name}<span class="description">${b.description}</span></th>
      <td class="num">${formatNumber(b.quality.pooled.auroc)}</td>
      <td class="num">${formatNumber(b.quality.pooled.auprc)}</td>
      <td class="num">${formatNumber(b.quality.pooled.brier)}</td>
      ${calibrationCell(b.quality.pooled.observedExpectedRatio, 'observedExpectedRatio')}
      ${calibrationCell(b.quality.pooled.calibrationSlope, 'calibrationSlope')}
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
            <th scope="colgroup" colspan="5" class="group">Pooled</th>
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
            <th scope="col" class="num">O:E</th>
            <th scope="col" class="num">Slope</th>
            ${hospitalHeads}
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>
    ${privacyCostLine(report)}
    ${localOnlyLine(report)}
    ${CALIBRATION_LEGEND}
    <p class="muted">${MISSING} = not computable (e.g. a test split with one class).</p>
  </section>`;
}

/** Where a hospital would have ranked its own stays better alone: said plainly (simulation). */
function localOnlyLine(report: TrainingReport) {
  const federated = report.baselines.find((b) => b.name === 'federated (exact)');
  const local = report.baselines.find((b) => b.name === 'local-only');
  if (!federated || !local) return '';
  const wins = localOnlyWins(federated.quality, local.quality, reportHospitalIds(report));
  if (wins.length === 0)
    return markup`<p class="local-only">The federated model ranks every hospital's own test stays better than
      that hospital's local-only model (AUROC).</p>`;
  return markup`<p class="local-only off-target">
    <strong>Local-only beats federated</strong> at
    ${wins.map(
      (w, i) =>
        markup`${i > 0 ? ', ' : ''}${w.hospitalId} (AUROC ${formatNumber(w.local)} alone vs ${formatNumber(w.federated)} federated)`,
    )}:
    on its own test stays that hospital would have done better training alone. Small test splits make
    single AUROCs noisy.
  </p>`;
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
    <strong>Cost of patient-level privacy:</strong> pooled test AUROC ${formatNumber(privateAuroc)} with DP-SGD
    (ε = ${String(report.config.patientTargetEpsilon)} per hospital, δ = ${String(report.config.delta)}) vs
    ${formatNumber(publicAuroc)} for the non-private federated model: difference
    ${formatDifference(difference)}.
  </p>`;
}
