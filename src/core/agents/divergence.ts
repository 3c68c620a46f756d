/**
 * Has training made the model worse than it started? Judged on the pooled metrics the hospitals
 * report for a version (from their risk histograms, no record pooled), against the initial model
 * (round 0, untrained; evaluated only when the run evaluates every round). A model that predicts
 * worse than the untrained one it started from, worse than a 50 % guess for everyone, or no better
 * than chance, is not a model to serve, however the run ended.
 *
 * The rule, each clause enough on its own:
 *   the hospitals' training loss exploded (> 5 nats, or not finite; only runs without DP-SGD
 *     release it)                                               (training blew up)
 *   pooled loss is not a finite number                          (training blew up)
 *   pooled loss > the initial model's pooled loss               (mean cross-entropy got worse)
 *   pooled loss > ln 2                                          (worse than predicting 50 % for
 *                                                                every stay: confidently wrong)
 *   pooled AUROC < the initial model's pooled AUROC             (discrimination got worse)
 *   pooled AUROC ≤ 0.5                                          (no better than chance)
 *
 * Pooled metrics come from the hospitals' DP-noised releases, so noise alone must never make a
 * run "diverged" (a wrong verdict withholds a good model). A noisy figure counts against the model
 * only when even the best case the noise allows is worse: the 95 % noise interval widened by half
 * its width on each side (about ±4 standard errors were the noise Gaussian; the bootstrap's
 * intervals under-cover small splits, see pooled-metrics.ts). AUROC is judged only when that
 * interval is at most MAX_JUDGED_AUROC_WIDTH wide: on test splits of a few hundred stays the
 * noise can carry the AUROC of a good model below 0.5, and simulated runs (300–800 test stays,
 * 3 hospitals, noise SD 4.05) flagged 0.4–5 % of good models before this rule and none after.
 * A metric that is missing on either side is not used; with none left there is no verdict.
 */
export interface PooledQuality {
  auroc: number | null;
  /** Mean binary cross-entropy. */
  loss: number | null;
  /** 95 % noise intervals (absent or null for exact figures). */
  aurocInterval?: readonly [number, number] | null;
  lossInterval?: readonly [number, number] | null;
}

/** Mean cross-entropy above this many nats: predictions confidently wrong, training blew up. */
export const EXPLODED_TRAINING_LOSS = 5;

/** Wider AUROC noise intervals than this say too little about discrimination to judge it. */
export const MAX_JUDGED_AUROC_WIDTH = 0.25;

/** The cross-entropy of predicting 50 % for everyone. */
const COIN_FLIP_LOSS = Math.LN2;

export interface DivergenceCheck {
  diverged: boolean;
  /** Whether there was anything to judge. */
  judged: boolean;
  /** One sentence: what got worse, or why it is fine. */
  reason: string;
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/** The best and worst values the noise allows: the interval widened by half its width each side. */
function noiseRange(value: number, interval: readonly [number, number] | null | undefined) {
  if (!interval) return { low: value, high: value, width: 0 };
  const width = interval[1] - interval[0];
  return { low: interval[0] - width / 2, high: interval[1] + width / 2, width };
}

export function checkDivergence(
  initial: PooledQuality | null,
  candidate: PooledQuality | null,
  trainingLoss: number | null = null,
): DivergenceCheck {
  const findings: string[] = [];
  const caveats: string[] = [];
  if (trainingLoss !== null && !(trainingLoss <= EXPLODED_TRAINING_LOSS))
    findings.push(`the hospitals' training loss exploded to ${f3(trainingLoss)}`);
  let judged = findings.length > 0;

  const loss = candidate?.loss ?? null;
  if (loss !== null) {
    judged = true;
    const { low } = noiseRange(loss, candidate?.lossInterval);
    if (!Number.isFinite(loss)) findings.push('pooled loss is not finite');
    else if (initial?.loss != null && low > initial.loss)
      findings.push(`pooled loss rose from ${f3(initial.loss)} (initial model) to ${f3(loss)}`);
    else if (low > COIN_FLIP_LOSS)
      findings.push(
        `pooled loss ${f3(loss)} is worse than predicting 50 % for every stay (${f3(COIN_FLIP_LOSS)})`,
      );
  }

  const auroc = candidate?.auroc ?? null;
  if (auroc !== null) {
    const { high, width } = noiseRange(auroc, candidate?.aurocInterval);
    if (width > MAX_JUDGED_AUROC_WIDTH) {
      caveats.push(
        `the releases' noise is too large to judge AUROC (95 % interval ${f3(candidate!.aurocInterval![0])}–${f3(candidate!.aurocInterval![1])})`,
      );
    } else {
      judged = true;
      if (initial?.auroc != null && high < initial.auroc)
        findings.push(`pooled AUROC fell from ${f3(initial.auroc)} (initial model) to ${f3(auroc)}`);
      if (high <= 0.5) findings.push(`pooled AUROC ${f3(auroc)} is no better than chance`);
    }
  }

  if (findings.length > 0) return { diverged: true, judged: true, reason: findings.join('; ') };
  if (!judged)
    return {
      diverged: false,
      judged: false,
      reason: candidate === null ? 'the model was not evaluated' : caveats.join('; ') || 'nothing to judge',
    };
  const against =
    initial !== null && (initial.auroc !== null || initial.loss !== null) ? 'the initial model' : 'chance';
  return {
    diverged: false,
    judged: true,
    reason: [`no worse than ${against} on the pooled metrics the noise lets us judge`, ...caveats].join('; '),
  };
}
