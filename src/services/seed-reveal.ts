import { blobPaths, paths, UpdateReceiptSchema, type RoundDocument } from '../../schemas/documents';
import { RevealBundleSchema, type RevealBundle } from '../../schemas/secure-aggregation';
import { RevealRefusedError } from '../core/secure-aggregation';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import { revealShares } from '../runtime/double-masking-round';
import type { HospitalEventSigner } from '../runtime/hospital-event-signing';
import { makeEvent, publishEvent } from './event-publishing';
import type { EnrolledKeys } from './hospital-enrolment';
import { maskingDirectory } from './masking-directory';
import { readRound } from './run-documents';
import { protocolKeys, readRoundKeys, roundTerms } from './update-masking';

export interface SeedRevealDeps {
  /** Read only: a hospital writes no shared document. */
  documents: Pick<DocumentStore, 'get' | 'list'>;
  blobs: BlobStore;
  events: Pick<EventBus, 'publish'>;
  /** The hospital's keys, already checked against its enrolment. */
  keys: EnrolledKeys;
  sign: HospitalEventSigner;
  clock: Clock;
  logger: Logger;
}

export type SeedRevealOutcome = { status: 'done' | 'skipped'; detail: string };

/**
 * Survivor side of the unmasking (the `reveal` job mode, phase 3 of docs/architecture.md §5):
 * for every participant exactly one thing — its share of that hospital's self-mask if the round
 * received its update, else its share of that hospital's round key (or its own pair seed with
 * it, when it dropped before sending shares). Checked against the receipts, not the round's word
 * alone, and decided once: the reveal is kept in the hospital's own blob prefix, a re-run re-sends
 * it (same event id), and a request that would now reveal the other kind for anyone is refused
 * (throws). The reveal travels as a signed `seeds.revealed` event; only the aggregator, after
 * verifying it, records it (src/services/aggregation/seed-intake.ts).
 */
export async function revealSeeds(
  env: { runId: string; round: number; hospitalId: string },
  deps: SeedRevealDeps,
): Promise<SeedRevealOutcome> {
  const { runId, round, hospitalId } = env;
  const skip = (reason: string): SeedRevealOutcome => {
    logs.jobSkipped(deps.logger, hospitalId, reason);
    return { status: 'skipped', detail: reason };
  };
  const roundDoc = await readRound(deps.documents, runId, round);
  if (!roundDoc) throw new Error(`round ${round} of run ${runId} was never opened`);
  if (roundDoc.status !== 'awaiting-seeds')
    return skip(`round ${round} is ${roundDoc.status}, not awaiting seeds`);
  if (await deps.documents.get(paths.revealedSeed(runId, round, hospitalId)))
    return skip(`shares for round ${round} already revealed`);
  const receipts = await acceptedUpdates(deps.documents, roundDoc);
  if (!receipts.has(hospitalId) || roundDoc.droppedHospitals.includes(hospitalId))
    return skip(`no accepted update from ${hospitalId} in round ${round}`);

  const terms = roundTerms(roundDoc);
  const stored = blobPaths.reveal(runId, round, hospitalId);
  const previous = (await deps.blobs.stat(stored))
    ? RevealBundleSchema.parse(JSON.parse(Buffer.from(await deps.blobs.get(stored)).toString('utf8')))
    : null;
  let reveal: RevealBundle;
  try {
    reveal = revealShares(
      terms,
      protocolKeys(hospitalId, deps.keys),
      await maskingDirectory(deps.documents, terms.participants, deps.clock.now()),
      // Every accepted receipt counts as received, the round's dropped list included: a participant
      // on both is refused by the reveal policy (its update would be unmasked).
      { received: receipts, dropped: roundDoc.droppedHospitals },
      {
        statements: await readRoundKeys(deps.blobs, runId, terms.participants),
        bundles: await publishedBundles(deps.blobs, roundDoc, receipts),
      },
      previous,
    );
  } catch (error) {
    if (error instanceof RevealRefusedError) throw new Error(`refusing to reveal: ${error.message}`);
    throw error;
  }
  // Kept before it is sent: what this survivor revealed for the round is decided once.
  if (previous === null)
    await deps.blobs.create(stored, Buffer.from(JSON.stringify(reveal)), { contentType: 'application/json' });
  await publishEvent(
    deps.events,
    deps.sign(
      makeEvent('seeds.revealed', {
        id: `seeds:${runId}:${round}:${hospitalId}`,
        runId,
        round,
        time: deps.clock.now(),
        data: { hospitalId, reveal },
      }),
    ),
  );
  logs.seedsRevealed(deps.logger, runId, round, hospitalId, roundDoc.droppedHospitals);
  return {
    status: 'done',
    detail: `shares for ${terms.participants.length} participants revealed (${roundDoc.droppedHospitals.length} dropped)`,
  };
}

/** Participant → SHA-256 of its accepted update (from the receipts, which only the aggregator writes). */
async function acceptedUpdates(
  documents: Pick<DocumentStore, 'list'>,
  roundDoc: RoundDocument,
): Promise<Map<string, string>> {
  const accepted = new Map<string, string>();
  for (const snapshot of await documents.list(paths.updates(roundDoc.runId, roundDoc.round))) {
    const receipt = UpdateReceiptSchema.parse(snapshot.data);
    if (receipt.status === 'accepted') accepted.set(receipt.hospitalId, receipt.sha256);
  }
  return accepted;
}

/**
 * The masking bundles this survivor can read, by name: for a received participant, the one of its
 * accepted update; for a dropped one, its latest attempt's (attempts share the round key).
 */
async function publishedBundles(
  blobs: Pick<BlobStore, 'get' | 'stat'>,
  roundDoc: RoundDocument,
  accepted: ReadonlyMap<string, string>,
): Promise<Map<string, unknown>> {
  const { runId, round } = roundDoc;
  const bundles = new Map<string, unknown>();
  for (const id of roundDoc.masking!.participants) {
    const sha = roundDoc.droppedHospitals.includes(id) ? undefined : accepted.get(id);
    const path =
      sha !== undefined
        ? blobPaths.maskingBundle(runId, round, id, sha)
        : blobPaths.latestMaskingBundle(runId, round, id);
    if (await blobs.stat(path))
      bundles.set(id, JSON.parse(Buffer.from(await blobs.get(path)).toString('utf8')));
  }
  return bundles;
}
