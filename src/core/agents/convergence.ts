/**
 * The orchestrator's decisions (issue 7, agent 5): has training converged, and which hospitals keep
 * missing rounds. Pure functions over what the run already records (pooled metrics per model
 * version, round documents and update receipts).
 *
 * Plateau rule (stated, defaults in DEFAULT_PLATEAU_RULE): with W = 3, after at least
 * minVersions versions, the run has converged when over the last W versions
 *   loss:  loss[n−W] − min(loss[n−W+1..n]) < 0.001        (mean cross-entropy did not improve)
 *   AUROC: max(auroc[n−W+1..n]) − auroc[n−W] < 0.002       (discrimination did not improve)
 * Both must hold when both are reported; a metric that is missing (null) in the window is not used,
 * and with neither there is no decision. Requiring both avoids stopping while AUROC still climbs
 * on a flat loss (or the reverse). DP noise makes single rounds jumpy, hence a window, not one step.
 * The pooled metrics are post-processing of DP-noised histograms: where the versions carry their
 * noise (h = half the width of the 95 % noise interval, so SD = h / 1.96), a metric counts as
 * worse only when the drop exceeds the larger of its threshold and the one-sided 99.9 % bound of
 * the difference of two noisy values, 3.09 · √2 · SD (≈ 2.23 h with the largest h in the window).
 * A bound on one value (h alone) is not enough: on a flat run a noisy-high start with three
 * noisy-low versions after it crosses it in about 1 window in 90, and a long run checks many
 * windows (a flat 20-round run was stopped as "getting worse" that way). With the difference's
 * bound, noise alone does so in fewer than 1 window in 1,000. Plateau keeps the rule's
 * thresholds: noise makes the best of the window look better than its start, which errs towards
 * training on, not towards stopping.
 */

export interface VersionMetrics {
  round: number;
  modelVersionId: string;
  /** Pooled over the hospitals' evaluations; null until reported. */
  auroc: number | null;
  loss: number | null;
  /** Half-widths of the 95 % DP-noise intervals of the pooled figures (absent or null: exact). */
  aurocNoise?: number | null;
  lossNoise?: number | null;
}

export interface PlateauRule {
  window: number;
  minLossImprovement: number;
  minAurocImprovement: number;
  /** Never declare convergence before this many versions (the initial model counts). */
  minVersions: number;
}

export const DEFAULT_PLATEAU_RULE: PlateauRule = {
  window: 3,
  minLossImprovement: 0.001,
  minAurocImprovement: 0.002,
  minVersions: 4,
};

export interface PlateauDecision {
  /** No metric improved by its threshold over the window (a run that got worse has stopped improving too). */
  converged: boolean;
  /**
   * worsening: a metric got worse by more than its threshold over the window, or in each of the
   * last two versions (by more than twice it) (whatever the other did: a diverging run is neither converged nor
   * improving); plateau: none moved by more than its threshold; improving: one improved by at
   * least its threshold and none got worse.
   */
  trend: 'improving' | 'plateau' | 'worsening' | null;
  /** Improvements over the window, null when not computable. */
  lossImprovement: number | null;
  aurocImprovement: number | null;
  reason: string;
}

export function checkPlateau(
  history: readonly VersionMetrics[],
  rule: PlateauRule = DEFAULT_PLATEAU_RULE,
): PlateauDecision {
  const sorted = [...history].sort((a, b) => a.round - b.round);
  const n = sorted.length;
  if (n < Math.max(rule.minVersions, rule.window + 1)) {
    return {
      converged: false,
      trend: null,
      lossImprovement: null,
      aurocImprovement: null,
      reason: `${n} version(s), at least ${Math.max(rule.minVersions, rule.window + 1)} needed`,
    };
  }
  const base = sorted[n - rule.window - 1];
  const recent = sorted.slice(n - rule.window);
  const improvement = (pick: (v: VersionMetrics) => number | null, sign: 1 | -1): number | null => {
    const start = pick(base);
    const values = recent.map(pick);
    if (start === null || values.some((v) => v === null)) return null;
    // sign −1 (loss): improvement = start − min; sign +1 (AUROC): max − start.
    return sign === 1 ? Math.max(...(values as number[])) - start : start - Math.min(...(values as number[]));
  };
  const lossImprovement = improvement((v) => v.loss, -1);
  const aurocImprovement = improvement((v) => v.auroc, 1);
  const window = [base, ...recent];
  const largestNoise = (noise: (v: VersionMetrics) => number | null | undefined) =>
    Math.max(0, ...window.map((v) => noise(v) ?? 0));
  const lossNoise = largestNoise((v) => v.lossNoise);
  const aurocNoise = largestNoise((v) => v.aurocNoise);
  const lossWorse = Math.max(rule.minLossImprovement, noiseOfDifference(lossNoise));
  const aurocWorse = Math.max(rule.minAurocImprovement, noiseOfDifference(aurocNoise));
  if (lossImprovement === null && aurocImprovement === null) {
    return {
      converged: false,
      trend: null,
      lossImprovement,
      aurocImprovement,
      reason: 'no pooled metrics in the window',
    };
  }
  const lossFlat = lossImprovement === null || lossImprovement < rule.minLossImprovement;
  const aurocFlat = aurocImprovement === null || aurocImprovement < rule.minAurocImprovement;
  const windowWorse =
    (lossImprovement !== null && lossImprovement < -lossWorse) ||
    (aurocImprovement !== null && aurocImprovement < -aurocWorse);
  const lossTail = worsenedTwice(
    sorted.map((v) => v.loss),
    1,
    lossWorse,
  );
  const aurocTail = worsenedTwice(
    sorted.map((v) => v.auroc),
    -1,
    aurocWorse,
  );
  const parts = [
    lossImprovement === null
      ? null
      : `${change('loss', -lossImprovement, rule.minLossImprovement, lossNoise, lossWorse)}${lossTail ? `, but rose in each of the last two versions (${lossTail})` : ''}`,
    aurocImprovement === null
      ? null
      : `${change('AUROC', aurocImprovement, rule.minAurocImprovement, aurocNoise, aurocWorse)}${aurocTail ? `, but fell in each of the last two versions (${aurocTail})` : ''}`,
  ].filter((p): p is string => p !== null);
  const converged = lossFlat && aurocFlat;
  const worse = windowWorse || lossTail !== null || aurocTail !== null;
  const trend = worse ? 'worsening' : converged ? 'plateau' : 'improving';
  const words = windowWorse
    ? 'getting worse'
    : { improving: 'still improving', plateau: 'plateau', worsening: 'no longer improving' }[trend];
  return {
    converged,
    trend,
    lossImprovement,
    aurocImprovement,
    reason: `${words} over the last ${rule.window} versions (rounds ${recent[0].round}–${recent[recent.length - 1].round}): ${parts.join('; ')}`,
  };
}

/** 95 % half-width → SD, then the one-sided 99.9 % bound of a difference of two such values. */
const Z_95_TWO_SIDED = 1.959964;
const Z_999_ONE_SIDED = 3.090232;
function noiseOfDifference(halfWidth: number): number {
  return Z_999_ONE_SIDED * Math.SQRT2 * (halfWidth / Z_95_TWO_SIDED);
}

/**
 * `0.2990 → 0.3066` when the metric moved the wrong way in each of the last two versions, by more
 * than twice the improvement threshold in all (so DP noise around a plateau is not called
 * worsening), else null. `worse` = +1: higher is worse (loss); −1: lower is worse (AUROC).
 */
function worsenedTwice(values: readonly (number | null)[], worse: 1 | -1, threshold: number): string | null {
  const [a, b, c] = values.slice(-3);
  if (a == null || b == null || c == null) return null;
  const twice = worse * (b - a) > 0 && worse * (c - b) > 0 && worse * (c - a) > 2 * threshold;
  return twice ? `${a.toFixed(4)} → ${c.toFixed(4)}` : null;
}

/**
 * `loss fell 0.0123 (improvement threshold 0.001)`, `loss rose 0.9215 (...)`: the direction in
 * words, never a negative improvement. `delta` is the change of the metric's best value in the
 * window from where the window started.
 */
function change(
  metric: string,
  delta: number,
  threshold: number,
  noiseHalfWidth: number,
  worseBeyond: number,
): string {
  const direction = delta > 0 ? 'rose' : delta < 0 ? 'fell' : 'did not change';
  const amount = delta === 0 ? '' : ` ${Math.abs(delta).toFixed(4)}`;
  const noise =
    noiseHalfWidth > 0
      ? `; DP noise ±${noiseHalfWidth.toFixed(4)}, worse only beyond ${worseBeyond.toFixed(4)}`
      : '';
  return `${metric} ${direction}${amount} (improvement threshold ${threshold}${noise})`;
}

/** What happened to one expected hospital in one round. */
export type Attendance = 'accepted' | 'rejected' | 'late' | 'missing';

/** A round as recorded: the round document and its update receipts (subsets of their schemas). */
export interface RoundRecord {
  round: number;
  expectedHospitals: readonly string[];
  /** Hospitals whose updates went into the aggregate. */
  participants: readonly string[];
  receipts: readonly { hospitalId: string; status: 'accepted' | 'rejected' }[];
}

/**
 * accepted: in the aggregate; rejected: its update failed validation; late: an accepted receipt
 * that did not make the aggregate (it arrived after the round closed or failed); missing: nothing.
 */
export function attendance(round: RoundRecord, hospitalId: string): Attendance {
  if (round.participants.includes(hospitalId)) return 'accepted';
  const receipt = round.receipts.find((r) => r.hospitalId === hospitalId);
  if (receipt === undefined) return 'missing';
  return receipt.status === 'rejected' ? 'rejected' : 'late';
}

export interface HospitalAttendance {
  hospitalId: string;
  /** Outcomes over the last `window` rounds it was expected in, oldest first. */
  recent: Attendance[];
  absences: number;
  flagged: boolean;
}

/**
 * A hospital is flagged when it did not contribute (rejected, late or missing) in at least
 * `threshold` of the last `window` rounds it was expected in (default: 2 of 3).
 */
export function checkAttendance(
  rounds: readonly RoundRecord[],
  options: { window?: number; threshold?: number } = {},
): HospitalAttendance[] {
  const window = options.window ?? 3;
  const threshold = options.threshold ?? 2;
  const sorted = [...rounds].sort((a, b) => a.round - b.round);
  const hospitals = [...new Set(sorted.flatMap((r) => r.expectedHospitals))].sort();
  return hospitals.map((hospitalId) => {
    const recent = sorted
      .filter((r) => r.expectedHospitals.includes(hospitalId))
      .slice(-window)
      .map((r) => attendance(r, hospitalId));
    const absences = recent.filter((a) => a !== 'accepted').length;
    return { hospitalId, recent, absences, flagged: absences >= threshold };
  });
}
