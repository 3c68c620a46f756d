import { MASKING_SCHEME, paths, RevealedSeedsSchema, type RoundDocument } from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import { decodeUpdate, type UpdateEncoding } from '../core/codec/update-codec';
import type { ClippedSum } from '../core/federated';
import { SecureAggregationError, unmaskSum, type RevealedSeed } from '../core/secure-aggregation';
import type { DocumentStore } from '../ports/document-store';
import { aesCtrSeedExpander } from '../runtime/secure-aggregation-crypto';

const SEED_BYTES = 32;

/**
 * The aggregator's half of secure aggregation: what it can check about a masked update (its form
 * and the masking it declares, never its norm), and the round's unmasked sum.
 */

/** Null when the update's form matches the round's masking; otherwise why not. */
export function checkMasking(
  round: RoundDocument,
  declared: EventOf<'update.submitted'>['data']['masking'],
  encoding: UpdateEncoding,
): string | null {
  const masking = round.masking;
  if (masking === null) {
    return encoding === 'int32' || declared !== null
      ? 'masked (int32) updates need secure aggregation, which this run does not use'
      : null;
  }
  if (encoding !== 'int32' || declared === null)
    return `round ${round.round} uses secure aggregation: expected a masked int32 update declaring its masking`;
  if (declared.scheme !== MASKING_SCHEME) return `unknown masking scheme ${declared.scheme}`;
  if (declared.scale !== masking.scale)
    return `update masked with fixed-point scale ${declared.scale}, the round uses ${masking.scale}`;
  const sameParticipants =
    declared.participants.length === masking.participants.length &&
    declared.participants.every((h, i) => h === masking.participants[i]);
  if (!sameParticipants)
    return `update masked against ${declared.participants.join(', ')}, the round's participants are ${masking.participants.join(', ')}`;
  return null;
}

/**
 * Σ clip(Δ_k, C) over the survivors, from their masked updates and the seeds they revealed for
 * the dropped participants (Bonawitz et al. 2017, §4): the int32 modular sum is the exact signed
 * fixed-point sum by the overflow bound, so dividing by the scale gives the float sum to within
 * K/(2·scale) per coordinate (src/core/secure-aggregation/fixed-point.ts).
 */
export async function unmaskedClippedSum(
  deps: { documents: Pick<DocumentStore, 'list'> },
  round: RoundDocument,
  updates: ReadonlyArray<{ hospitalId: string; bytes: Uint8Array }>,
  length: number,
): Promise<ClippedSum> {
  const masking = round.masking;
  if (masking === null) throw new SecureAggregationError(`round ${round.round} is not masked`);
  const maskedUpdates = new Map<string, Int32Array>();
  for (const update of updates) {
    const decoded = decodeUpdate(update.bytes);
    if (decoded.encoding !== 'int32')
      throw new SecureAggregationError(`update of ${update.hospitalId} is not masked`);
    maskedUpdates.set(update.hospitalId, decoded.values as Int32Array);
  }
  const revealedSeeds: RevealedSeed[] = [];
  if (round.droppedHospitals.length > 0) {
    for (const snapshot of await deps.documents.list(paths.revealedSeeds(round.runId, round.round))) {
      const parsed = RevealedSeedsSchema.safeParse(snapshot.data);
      if (!parsed.success || parsed.data.survivorId !== snapshot.id)
        throw new SecureAggregationError(`malformed seeds document from ${snapshot.id}`);
      if (!maskedUpdates.has(parsed.data.survivorId)) continue;
      for (const { droppedId, seed } of parsed.data.seeds) {
        const bytes = new Uint8Array(Buffer.from(seed, 'base64'));
        if (bytes.length !== SEED_BYTES)
          throw new SecureAggregationError(
            `seed of (${snapshot.id}, ${droppedId}) is not ${SEED_BYTES} bytes`,
          );
        revealedSeeds.push({ survivorId: parsed.data.survivorId, droppedId, seed: bytes });
      }
    }
  }
  const sum = unmaskSum(
    { participants: masking.participants, maskedUpdates, revealedSeeds, length },
    aesCtrSeedExpander,
  );
  const floatSum = new Float64Array(length);
  for (let i = 0; i < length; i++) floatSum[i] = sum[i] / masking.scale;
  return { participants: [...maskedUpdates.keys()].sort(), sum: floatSum };
}
