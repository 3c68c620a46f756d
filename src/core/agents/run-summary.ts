import type { PrivacyGuarantee } from '../../../schemas/privacy';
import type { HospitalAttendance, PlateauDecision, VersionMetrics } from './convergence';

/**
 * The deterministic template writer of a run summary (the LanguageModel port's default, no LLM):
 * the same facts always give the same text, and it names only aggregates (no record, no stay).
 */
export interface RunSummaryInput {
  runId: string;
  status: 'running' | 'completed' | 'failed' | 'halted';
  plannedRounds: number;
  history: readonly VersionMetrics[];
  /** Per hospital, its own metrics of the latest version it evaluated. */
  hospitalMetrics: readonly { hospitalId: string; auroc: number | null; loss: number | null }[];
  attendance: readonly HospitalAttendance[];
  plateau: PlateauDecision;
  privacy: readonly PrivacyGuarantee[];
  halt: { reason: string; by: string } | null;
}

const num = (x: number | null, digits: number): string => (x === null ? 'n/a' : x.toFixed(digits));

export function writeRunSummary(input: RunSummaryInput): string {
  const history = [...input.history].sort((a, b) => a.round - b.round);
  const last = history[history.length - 1];
  const first = history[0];
  const lines: string[] = [];
  lines.push(
    `Run ${input.runId}: ${input.status}, ${last ? last.round : 0} of ${input.plannedRounds} round(s).`,
  );
  if (last && first) {
    lines.push(
      `Pooled AUROC ${num(first.auroc, 3)} → ${num(last.auroc, 3)}, loss ${num(first.loss, 4)} → ${num(last.loss, 4)} (rounds ${first.round}–${last.round}); latest model ${last.modelVersionId}.`,
    );
  }
  lines.push(`Convergence: ${input.plateau.reason}.`);
  for (const h of [...input.hospitalMetrics].sort((a, b) => a.hospitalId.localeCompare(b.hospitalId))) {
    lines.push(`- ${h.hospitalId}: AUROC ${num(h.auroc, 3)}, loss ${num(h.loss, 4)}`);
  }
  const flagged = input.attendance.filter((a) => a.flagged);
  lines.push(
    flagged.length === 0
      ? 'Every hospital contributed regularly.'
      : `Hospitals to follow up: ${flagged.map((a) => `${a.hospitalId} (${a.recent.join(', ')})`).join('; ')}.`,
  );
  for (const g of input.privacy) {
    const eps = g.epsilon === null ? '∞ (no noise, no DP guarantee)' : g.epsilon.toFixed(3);
    const budget = g.budgetEpsilon === null ? '' : ` of budget ${g.budgetEpsilon}`;
    lines.push(`Privacy: ${g.unit}-level ε = ${eps}${budget}, δ = ${g.delta} after ${g.steps} step(s).`);
  }
  if (input.halt) lines.push(`Halted by ${input.halt.by}: ${input.halt.reason}.`);
  return `${lines.join('\n')}\n`;
}
