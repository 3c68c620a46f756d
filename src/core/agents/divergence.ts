/**
 * Has training made the model worse than it started? Judged on the pooled metrics the hospitals
 * report for a version (from their risk histograms, no record pooled), against the initial model
 * (round 0, untrained), which every run has. A model that predicts worse than the untrained one it
 * started from, or no better than chance, is not a model to serve, however the run ended.
 *
 * The rule, each clause enough on its own:
 *   pooled loss is not a finite number                          (training blew up)
 *   pooled loss > the initial model's pooled loss               (mean cross-entropy got worse)
 *   pooled AUROC < the initial model's pooled AUROC             (discrimination got worse)
 *   pooled AUROC ≤ 0.5                                          (no better than chance: at 0.5
 *                                                                exactly, typically every risk is
 *                                                                the same saturated value)
 * A metric that is missing on either side is not used; with none left there is no verdict.
 */
export interface PooledQuality {
  auroc: number | null;
  /** Mean binary cross-entropy. */
  loss: number | null;
}

export interface DivergenceCheck {
  diverged: boolean;
  /** Whether there was anything to judge (both versions evaluated). */
  judged: boolean;
  /** One sentence: what got worse, or why it is fine. */
  reason: string;
}

const f3 = (x: number): string => x.toFixed(3);

export function checkDivergence(
  initial: PooledQuality | null,
  candidate: PooledQuality | null,
): DivergenceCheck {
  if (!candidate || (candidate.auroc === null && candidate.loss === null))
    return { diverged: false, judged: false, reason: 'the model was not evaluated' };
  const findings: string[] = [];
  if (candidate.loss !== null && !Number.isFinite(candidate.loss)) findings.push('pooled loss is not finite');
  else if (initial?.loss != null && candidate.loss !== null && candidate.loss > initial.loss)
    findings.push(`pooled loss rose from ${f3(initial.loss)} (initial model) to ${f3(candidate.loss)}`);
  if (initial?.auroc != null && candidate.auroc !== null && candidate.auroc < initial.auroc)
    findings.push(`pooled AUROC fell from ${f3(initial.auroc)} (initial model) to ${f3(candidate.auroc)}`);
  if (candidate.auroc !== null && candidate.auroc <= 0.5)
    findings.push(`pooled AUROC ${f3(candidate.auroc)} is no better than chance`);
  if (findings.length > 0) return { diverged: true, judged: true, reason: findings.join('; ') };
  const judged = initial !== null && (initial.auroc !== null || initial.loss !== null);
  return {
    diverged: false,
    judged,
    reason: judged
      ? 'no worse than the initial model on pooled loss and AUROC'
      : 'the initial model was not evaluated',
  };
}
