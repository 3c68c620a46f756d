import type { PrivacyGuarantee } from '../../../schemas/privacy';
import { formatDelta, formatEpsilon, formatFixed, formatInteger, MISSING } from './format';
import { markup, type SafeHtml } from './html-escape';

const UNIT_MEANING: Record<PrivacyGuarantee['unit'], string> = {
  hospital:
    "Hospital level: bounds what the released models reveal about any one hospital's whole participation.",
  patient: 'Patient level: bounds what the released models reveal about any one ICU stay.',
};

/** The guarantee as one sentence: the ∞ statement is worded exactly, and never as a target. */
export function guaranteeClaim(g: PrivacyGuarantee): string {
  if (g.epsilon === null)
    return `ε = ∞ — no differential-privacy guarantee (noise multiplier ${g.noiseMultiplier})`;
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
    ${overBudget ? markup`<p class="over-budget">ε exceeds the budget of ${formatFixed(g.budgetEpsilon)}.</p>` : ''}
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
        <dd>${String(g.noiseMultiplier)}</dd>
      </div>
      <div>
        <dt>Clip norm C</dt>
        <dd>${String(g.clipNorm)}</dd>
      </div>
      <div>
        <dt>Sampling probability q</dt>
        <dd>${String(g.samplingProbability)}</dd>
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

export function renderPrivacySection(guarantees: readonly PrivacyGuarantee[], modelServed = true): SafeHtml {
  const body =
    guarantees.length === 0
      ? markup`<div class="guarantee no-guarantee">
          <p class="claim">No privacy guarantee was recorded for this run: treat it as ε = ∞.</p>
        </div>`
      : guarantees.map((g) => renderGuarantee(g, modelServed));
  return markup`<section id="privacy">
    <h2>Privacy guarantee</h2>
    <div class="guarantees">${body}</div>
  </section>`;
}
