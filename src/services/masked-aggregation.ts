import { createHash } from 'node:crypto';
import {
  blobPaths,
  MASKING_SCHEME,
  paths,
  RevealedSharesSchema,
  type RoundDocument,
} from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import { decodeUpdate, decodeUpdateInto, type UpdateEncoding } from '../core/codec/update-codec';
import { KernelMemory } from '../core/kernels/aggregation-kernels';
import type { ClippedSum } from '../core/federated';
import { SecureAggregationError } from '../core/secure-aggregation';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import { unmaskRound } from '../runtime/double-masking-round';
import { maskingDirectory } from './masking-directory';
import { readRoundKeys, roundTerms } from './update-masking';

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

/** Survivors that have revealed (their reveal documents), for the round's close decision. */
export async function revealedSurvivors(
  documents: Pick<DocumentStore, 'list'>,
  round: RoundDocument,
): Promise<Set<string>> {
  return new Set((await documents.list(paths.revealedSeeds(round.runId, round.round))).map((s) => s.id));
}

/**
 * Σ clip(Δ_k, C) over the survivors, from their double-masked updates, their signed masking
 * bundles and round keys, and the survivors' signed reveals (docs/architecture.md §5, phase 4):
 * unmaskRound refuses a sum below the round's minimum, shares of the wrong kind, or too few, and
 * checks the unmasked sum against K′·C. Anything that does not verify fails the round
 * (SecureAggregationError): it cannot be retried into consistency. The int32 sum is the exact
 * signed fixed-point sum by the overflow bound, so dividing by the scale gives the float sum
 * to within K/(2·scale) per coordinate (src/core/secure-aggregation/fixed-point.ts).
 */
export async function unmaskedClippedSum(
  deps: {
    blobs: Pick<BlobStore, 'get' | 'stat'>;
    documents: Pick<DocumentStore, 'get' | 'list'>;
    clock: Clock;
  },
  round: RoundDocument,
  updates: ReadonlyArray<{ hospitalId: string; bytes: Uint8Array }>,
  length: number,
): Promise<ClippedSum> {
  if (round.masking === null) throw new SecureAggregationError(`round ${round.round} is not masked`);
  const terms = roundTerms(round);
  const maskedUpdates = new Map<string, { values: Int32Array; sha256: string }>();
  const bundles = new Map<string, unknown>();
  // Decoded straight into kernel memory, where the modular-sum kernels read them in place.
  const memory = KernelMemory.create(updates.length * length * 4);
  // The bytes were verified at the close (signature and hash under the enrolled key); only the
  // masking bundles, signed by their hospital and bound to that hash, are read here.
  for (const { hospitalId, bytes } of updates) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const decoded = memory ? decodeUpdateInto(bytes, memory) : decodeUpdate(bytes);
    if (decoded.encoding !== 'int32' || decoded.values.length !== length)
      throw new SecureAggregationError(`update of ${hospitalId} is not a masked update of ${length} values`);
    maskedUpdates.set(hospitalId, { values: decoded.values as Int32Array, sha256 });
    const bundlePath = blobPaths.maskingBundle(round.runId, round.round, hospitalId, sha256);
    if (await deps.blobs.stat(bundlePath))
      bundles.set(hospitalId, parseJson(await deps.blobs.get(bundlePath), bundlePath));
  }
  const reveals = [];
  for (const snapshot of await deps.documents.list(paths.revealedSeeds(round.runId, round.round))) {
    const parsed = RevealedSharesSchema.safeParse(snapshot.data);
    if (
      !parsed.success ||
      parsed.data.survivorId !== snapshot.id ||
      parsed.data.reveal.hospitalId !== snapshot.id
    )
      throw new SecureAggregationError(`malformed reveal document from ${snapshot.id}`);
    // Only survivors' reveals count (a dropped hospital has nothing to reveal).
    if (maskedUpdates.has(snapshot.id)) reveals.push(parsed.data.reveal);
  }
  const directory = await maskingDirectory(deps.documents, terms.participants, deps.clock.now());
  const statements = await readRoundKeys(deps.blobs, round.runId, terms.participants);
  let unmasked;
  try {
    unmasked = await unmaskRound(terms, directory, { maskedUpdates, statements, bundles, reveals });
  } catch (error) {
    // A signature, a bundle or a share that does not verify: the round fails with the reason
    // (store errors happened above and are retried).
    if (error instanceof SecureAggregationError) throw error;
    throw new SecureAggregationError((error as Error).message);
  }
  const floatSum = new Float64Array(length);
  for (let i = 0; i < length; i++) floatSum[i] = unmasked.sum[i] / terms.params.scale;
  return { participants: unmasked.survivors, sum: floatSum };
}

function parseJson(bytes: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new SecureAggregationError(`${path} is not JSON`);
  }
}
