import { decodeFixedPointAverage, type FixedPointParameters } from './fixed-point';
import { sumModular } from './modular-sum';
import { SecureAggregationError } from './errors';
import { removeDropoutMasks, type RevealedSeed, type SeedExpander } from './pairwise-masks';

export interface MaskedRound {
  /** U1: every hospital that masked against every other (the round's expected hospitals). */
  participants: readonly string[];
  /** U2 ⊆ U1: the masked updates that arrived, by hospital. */
  maskedUpdates: ReadonlyMap<string, Int32Array>;
  /** For every survivor s ∈ U2 and dropped d ∈ U1 \ U2: the seed s_{s,d} that s revealed. */
  revealedSeeds: readonly RevealedSeed[];
  /** P: parameters per update. */
  length: number;
}

export { SecureAggregationError };

/**
 * Σ_{u∈U2} x_u mod 2^32 (Bonawitz et al. 2017, §4, the server's final step, without self-masks):
 * Σ y_u cancels every pair inside U2, and the revealed seeds remove the pairs (s, d) with d dropped.
 *
 * Checks first, with a reason: every survivor must have revealed its seed with every dropped
 * hospital (a missing one leaves a uniform mask on the sum), and no seed may be revealed for a
 * hospital whose update arrived (that pair already cancels; removing it would expose updates).
 */
export function unmaskSum(round: MaskedRound, expand: SeedExpander): Int32Array {
  const participants = new Set(round.participants);
  if (participants.size !== round.participants.length)
    throw new SecureAggregationError('participants repeat');
  for (const id of round.maskedUpdates.keys()) {
    if (!participants.has(id))
      throw new SecureAggregationError(`${id} sent a masked update but did not mask`);
  }
  const survivors = [...round.maskedUpdates.keys()];
  const dropped = round.participants.filter((id) => !round.maskedUpdates.has(id));
  const needed = new Set<string>();
  for (const s of survivors) for (const d of dropped) needed.add(pairKey(s, d));
  const used = new Set<string>();
  for (const r of round.revealedSeeds) {
    const key = pairKey(r.survivorId, r.droppedId);
    if (!needed.has(key)) {
      throw new SecureAggregationError(
        `seed of (${r.survivorId}, ${r.droppedId}) is not a survivor/dropped pair; refusing to use it`,
      );
    }
    if (used.has(key))
      throw new SecureAggregationError(`seed of (${r.survivorId}, ${r.droppedId}) revealed twice`);
    used.add(key);
  }
  const missing = [...needed].filter((k) => !used.has(k));
  if (missing.length > 0) {
    throw new SecureAggregationError(
      `missing revealed seeds for ${missing.map((k) => `(${k.replace('\u0000', ', ')})`).join(' ')}`,
    );
  }
  const sum = sumModular([...round.maskedUpdates.values()], round.length);
  removeDropoutMasks(sum, round.revealedSeeds, expand);
  return sum;
}

/** unmaskSum, then decode to the float average with the fixed denominator m (DP-FedAvg's expected hospitals). */
export function unmaskAverage(
  round: MaskedRound,
  expand: SeedExpander,
  params: FixedPointParameters,
  denominator: number,
): Float32Array {
  if (round.maskedUpdates.size > params.maxHospitals) {
    throw new SecureAggregationError(
      `${round.maskedUpdates.size} updates exceed the ${params.maxHospitals} the fixed-point scale allows`,
    );
  }
  return decodeFixedPointAverage(unmaskSum(round, expand), params, denominator);
}

function pairKey(survivorId: string, droppedId: string): string {
  return `${survivorId}\u0000${droppedId}`;
}
