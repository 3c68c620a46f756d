import type { HospitalPrivacy, PrivacyGuarantee } from '../../../schemas/privacy';
import { formatDelta, formatEpsilon, formatInteger, formatNumber, MISSING } from './format';
import { markup, type SafeHtml } from './html-escape';

const UNIT_MEANING: Record<PrivacyGuarantee['unit'], string> = {
  hospital:
    "Hospital level: bounds what the released models reveal about any one hospital's whole participation.",
  patient:
    "Patient level: bounds what everything the run released — model updates, evaluations, the agents' releases — reveals about any one patient of the least protected hospital.",
};

/** The guarantee as one sentence: the ∞ statement is worded exactly, and never as a target. */
export function guaranteeClaim(g: PrivacyGuarantee): string {
  if (g.epsilon === null)
    return `ε = ∞ — no differential-privacy guarantee (noise multiplier ${formatNumber(g.noiseMultiplier)})`;
  return `ε = ${formatEpsilon(g.epsilon)}, δ = ${formatDelta(g.delta)}`;
}

/**
 * A guarantee over zero released versions (no round closed) is ε = 0 of nothing: shown greyed and
 * said so, never as a green box that reads like a private model.
 */
function renderGuarantee(g: PrivacyGuarantee, modelServed: boolean): SafeHtml {
  const none = g.epsilon === null;
  const nothingReleased = g.unit === 'hospital' && g.steps === 0;
  const overBudget = g.epsilon !== null && g.budgetEpsilon !== null && g.epsilon > g.budgetEpsilon;
  const stepsLabel = g.unit === 'hospital' ? 'Rounds accounted' : 'Steps accounted';
  const style = nothingReleased ? 'no-release' : none ? 'no-guarantee' : 'has-guarantee';
  return markup`<div class="guarantee ${style}">
    <h3>${g.unit === 'hospital' ? 'Hospital-level' : 'Patient-level'} guarantee</h3>
    <p class="claim">${nothingReleased ? 'No model version was released: nothing to guarantee (0 rounds accounted)' : guaranteeClaim(g)}</p>
    ${!modelServed && !nothingReleased ? markup`<p class="meaning">The run left no model to serve; this is the guarantee of the versions it did release.</p>` : ''}
    <p class="meaning">${UNIT_MEANING[g.unit]}</p>
    ${overBudget ? markup`<p class="over-budget">ε exceeds the budget of ${formatNumber(g.budgetEpsilon)}.</p>` : ''}
    <dl class="facts">
      <div>
        <dt>Unit</dt>
        <dd>${g.unit}</dd>
      </div>
      <div>
        <dt>ε</dt>
        <dd>${formatEpsilon(g.epsilon)}</dd>
      </div>
      <div>
        <dt>δ</dt>
        <dd>${formatDelta(g.delta)}</dd>
      </div>
      <div>
        <dt>RDP order</dt>
        <dd>${g.order === null ? MISSING : String(g.order)}</dd>
      </div>
      <div>
        <dt>Noise multiplier z</dt>
        <dd>${formatNumber(g.noiseMultiplier)}</dd>
      </div>
      <div>
        <dt>Clip norm C</dt>
        <dd>${formatNumber(g.clipNorm)}</dd>
      </div>
      <div>
        <dt>Sampling probability q</dt>
        <dd>${formatNumber(g.samplingProbability)}</dd>
      </div>
      <div>
        <dt>${stepsLabel}</dt>
        <dd>${formatInteger(g.steps)}</dd>
      </div>
      <div>
        <dt>Accountant</dt>
        <dd><code>${g.accountant}</code></dd>
      </div>
      <div>
        <dt>ε budget</dt>
        <dd>${g.budgetEpsilon === null ? 'none' : String(g.budgetEpsilon)}</dd>
      </div>
    </dl>
  </div>`;
}

const eps = (x: number | null) => (x === null ? '∞' : formatEpsilon(x));

/** Each hospital's run and lifetime totals and each mechanism's share, as its ledger states them. */
function renderHospitalPrivacy(hospitals: readonly HospitalPrivacy[]): SafeHtml {
  if (hospitals.length === 0) return markup``;
  const rows = hospitals.map(
    (h) => markup`<tr>
      <th scope="row">${h.hospitalId}</th>
      <td>${eps(h.run.epsilon)}</td>
      <td>${eps(h.run.train)}</td>
      <td>${eps(h.run.test)}</td>
      <td>${h.mechanisms.map((m) => `${m.mechanism} ${eps(m.epsilon)}`).join(', ')}</td>
      <td>${eps(h.lifetime.epsilon)} of ${formatNumber(h.budgetEpsilon)}</td>
    </tr>`,
  );
  return markup`<table class="hospital-privacy">
    <caption>Patient-level ε per hospital at δ = ${formatDelta(hospitals[0].delta)}, recomputed from each hospital's signed ledger (each mechanism alone; the splits compose them with the RDP accountant; a hospital's guarantee is its worse split)</caption>
    <thead><tr><th scope="col">hospital</th><th scope="col">this run</th><th scope="col">train split</th><th scope="col">test split</th><th scope="col">by mechanism</th><th scope="col">lifetime</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
}

export function renderPrivacySection(
  guarantees: readonly PrivacyGuarantee[],
  modelServed = true,
  hospitals: readonly HospitalPrivacy[] = [],
): SafeHtml {
  const body =
    guarantees.length === 0
      ? markup`<div class="guarantee no-guarantee">
          <p class="claim">No privacy guarantee was recorded for this run: treat it as ε = ∞.</p>
        </div>`
      : guarantees.map((g) => renderGuarantee(g, modelServed));
  return markup`<section id="privacy">
    <h2>Privacy guarantee</h2>
    <div class="guarantees">${body}</div>
    ${renderHospitalPrivacy(hospitals)}
  </section>`;
}
