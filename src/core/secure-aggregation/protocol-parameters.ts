/**
 * The numbers that decide what a curious aggregator can learn from a double-masked round
 * (Bonawitz et al. 2017, §4–§5): n participants, the Shamir threshold t, the quorum, and the
 * minimum number of hospitals in any sum it may unmask. Checked once where a run is configured
 * (schemas/training-config.ts) and again where a round is unmasked (double-unmask.ts).
 */

/** Default minimum number of hospitals in any unmasked sum (docs/architecture.md §5). */
export const DEFAULT_MIN_HOSPITALS = 3;
/** shamir-secret-sharing splits into at most 255 shares (GF(2^8) has 255 non-zero x-coordinates). */
export const MAX_MASKING_PARTICIPANTS = 255;

/**
 * The default threshold: a majority of the n participants, so two disjoint groups of t survivors
 * cannot exist — an aggregator that told half the survivors "d dropped" and the other half "d
 * arrived" still cannot collect t shares of both kinds for d — capped at the quorum, so every
 * round that meets its quorum can be unmasked, and at least 2 (one share is the secret itself).
 */
export function defaultThreshold(participants: number, quorum: number): number {
  return Math.max(2, Math.min(Math.floor(participants / 2) + 1, quorum));
}

export interface MaskingSettings {
  participants: number;
  quorum: number;
  threshold: number;
  minHospitals: number;
}

/**
 * Why these settings would let the aggregator unmask a sum of too few hospitals (or could never
 * unmask a round that met its quorum), in one line with what to do; null when they are sound.
 */
export function maskingSettingsProblem(s: MaskingSettings): string | null {
  if (s.minHospitals < 2)
    return `a minimum of ${s.minHospitals} hospital(s) per sum would unmask a single hospital's update; the minimum is at least 2`;
  if (s.participants < s.minHospitals)
    return `secure aggregation needs at least ${s.minHospitals} hospitals (got ${s.participants}): with fewer, the published sum reveals each hospital's update to the others; add hospitals, add hospital-level noise (--noise-multiplier > 0) and lower --secure-aggregation-min-hospitals knowingly, or turn secure aggregation off knowingly (--secure-aggregation false)`;
  if (s.participants > MAX_MASKING_PARTICIPANTS)
    return `secure aggregation shares keys among at most ${MAX_MASKING_PARTICIPANTS} hospitals per round (got ${s.participants})`;
  if (s.quorum < s.minHospitals)
    return `quorum ${s.quorum} is below the secure-aggregation minimum of ${s.minHospitals} hospitals per sum: a round closing with ${s.quorum} would unmask too small a sum; raise --quorum to ≥ ${s.minHospitals}, or turn secure aggregation off knowingly (--secure-aggregation false)`;
  if (s.threshold < 2 || s.threshold > s.participants)
    return `secure-aggregation threshold ${s.threshold} must be between 2 and the ${s.participants} hospitals`;
  if (s.threshold > s.quorum)
    return `secure-aggregation threshold ${s.threshold} is above the quorum ${s.quorum}: a round that meets its quorum could not be unmasked; lower the threshold or raise the quorum`;
  return null;
}
