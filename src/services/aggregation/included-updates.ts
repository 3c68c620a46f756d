import type { RoundDocument, UpdateReceipt } from '../../../schemas/documents';
import type { AggregatorContext } from './aggregator-context';
import { authenticateUpdate } from './update-authenticity';

/** An update the round's close verified again: the receipt's facts and the signed bytes. */
export interface VerifiedUpdate {
  receipt: UpdateReceipt;
  bytes: Uint8Array;
}

/**
 * Re-verifies every update a round is about to include, never trusting a receipt alone: the
 * receipt's path names the hospital, the receipt's fields and the blob it points to must carry that
 * hospital's signature under the key enrolled at the time it was received, and the base model must
 * be the round's. (A receipt written by anyone else — h1 writing h2's receipt pointing at h1's own
 * blob — names h2 but carries h1's signature, so it does not verify and h1 is not counted twice.)
 */
export async function verifyIncludedUpdates(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
  receipts: readonly UpdateReceipt[],
): Promise<{ verified: VerifiedUpdate[]; refused: Array<{ hospitalId: string; reason: string }> }> {
  const verified: VerifiedUpdate[] = [];
  const refused: Array<{ hospitalId: string; reason: string }> = [];
  const seen = new Set<string>();
  for (const receipt of receipts) {
    const hospitalId = receipt.hospitalId;
    const refuse = (reason: string) => refused.push({ hospitalId, reason });
    if (seen.has(hospitalId)) {
      refuse(`a second receipt for ${hospitalId}`);
      continue;
    }
    seen.add(hospitalId);
    if (!roundDoc.expectedHospitals.includes(hospitalId)) {
      refuse(`${hospitalId} is not expected in round ${roundDoc.round}`);
      continue;
    }
    if (receipt.baseModelVersionId !== roundDoc.baseModelVersionId) {
      refuse(`the receipt's base model is not the round's ${roundDoc.baseModelVersionId}`);
      continue;
    }
    const authentic = await authenticateUpdate(
      ctx.deps,
      {
        runId: roundDoc.runId,
        round: roundDoc.round,
        hospitalId,
        baseModelVersionId: roundDoc.baseModelVersionId,
        numExamples: receipt.numExamples,
        sha256: receipt.sha256,
        signature: receipt.signature,
      },
      receipt.blobPath,
      new Date(receipt.receivedAt),
    );
    if (!authentic.ok) refuse(authentic.reason);
    else verified.push({ receipt, bytes: authentic.bytes });
  }
  return { verified, refused };
}
