import type { ClinicalAssessment } from '../core/agents/clinical-support';
import { referenceList } from '../core/agents/clinical-narrative';
import { PLAUSIBLE_RANGES } from '../core/agents/stay-input';

/** What `himas predict --stay` prints: the clinical decision-support answer as a person reads it. */
export type AssessmentAnswer = ClinicalAssessment & { privacyStatements: string[] };

const pct = (p: number) => `${(p * 100).toFixed(1)} %`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

export function formatAssessment(a: AssessmentAnswer): string {
  const lines: string[] = [];
  const stay = a.stayId ? `Stay ${a.stayId}: ` : '';
  lines.push(
    a.risk === null
      ? `${stay}INSUFFICIENT DATA — no risk estimate: ${a.dataSufficiency.reason}`
      : `${stay}in-hospital mortality risk ${pct(a.risk)} — ${a.band} (${a.bandInterval})`,
  );
  lines.push(`Model ${a.model.versionId} (run ${a.model.runId}, round ${a.model.round})`);
  lines.push(
    ...(a.privacyStatements.length > 0
      ? a.privacyStatements.map((s) => `Privacy: ${s}`)
      : ['Privacy: no guarantee recorded with this model']),
  );
  for (const flag of a.flags) lines.push(`Flag: ${flag.message}`);
  if (a.missing.length > 0) lines.push(`Not measured (imputed): ${a.missing.join(', ')}`);
  if (a.topFeatures.length > 0)
    lines.push(`Top features (log-odds against ${pct(a.attribution.baselineRisk)} for an average stay):`);
  const width = Math.max(...a.topFeatures.map((f) => f.feature.length), 8);
  for (const f of a.topFeatures) {
    const unit = PLAUSIBLE_RANGES[f.feature]?.unit;
    const value =
      f.status === 'measured' ? `${String(f.value)}${unit && unit !== '0/1' ? ` ${unit}` : ''}` : f.status;
    lines.push(`  ${f.feature.padEnd(width)}  ${signed(f.contribution)}  ${value}`);
  }
  lines.push('', a.narrative.text, '');
  for (const c of referenceList(a.narrative.citations))
    lines.push(`[${c.n}] ${c.citation}${c.url ? ` ${c.url}` : ''}`);
  return `${lines.join('\n')}\n`;
}
