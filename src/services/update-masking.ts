import type { RoundDocument } from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import { chooseFixedPointScale } from '../core/secure-aggregation';
import type { DocumentStore } from '../ports/document-store';
import type { HospitalMaskingKey } from '../ports/hospital-keys';
import { importPrivateKeyPem, maskUpdate } from '../runtime/secure-aggregation-crypto';
import { enrolledMaskingKeys } from './enrolled-keys';

export type UpdateMasking = NonNullable<EventOf<'update.submitted'>['data']['masking']>;

/**
 * Hospital side of a masked round: the clipped update in fixed point plus a pairwise mask with
 * every other participant the round fixed at opening (keys from their enrolments). DP-FedAvg
 * weights every hospital the same (fixed denominator), so nothing is pre-weighted; the clip norm C
 * bounds every coordinate, which is what the fixed-point scale is chosen for.
 */
export async function maskClippedUpdate(input: {
  documents: Pick<DocumentStore, 'get'>;
  round: RoundDocument;
  hospitalId: string;
  maskingKey: HospitalMaskingKey;
  clipped: Float32Array;
}): Promise<{ values: Int32Array; masking: UpdateMasking }> {
  const { round, hospitalId } = input;
  const masking = round.masking;
  if (masking === null) throw new Error(`round ${round.round} of run ${round.runId} is not masked`);
  if (!masking.participants.includes(hospitalId))
    throw new Error(`hospital ${hospitalId} is not a masking participant of round ${round.round}`);
  const params = chooseFixedPointScale(masking.clipNorm, masking.participants.length);
  if (params.scale !== masking.scale) {
    throw new Error(
      `round ${round.round} says fixed-point scale ${masking.scale}, C = ${masking.clipNorm} with ${masking.participants.length} participants gives ${params.scale}`,
    );
  }
  const peerIds = masking.participants.filter((id) => id !== hospitalId);
  const peerKeys = await enrolledMaskingKeys(input.documents, peerIds);
  const values = maskUpdate({
    runId: round.runId,
    round: round.round,
    hospitalId,
    privateKey: importPrivateKeyPem(input.maskingKey.privateKeyPem),
    peers: peerIds.map((id) => ({ hospitalId: id, publicKey: peerKeys.get(id)! })),
    update: input.clipped,
    params,
  });
  return {
    values,
    masking: { scheme: masking.scheme, scale: masking.scale, participants: masking.participants },
  };
}
