import { paths, UpdateReceiptSchema, type RoundDocument } from '../../schemas/documents';
import type { RevealedSeed } from '../core/secure-aggregation';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { HospitalEventSigner } from '../runtime/hospital-event-signing';
import { importPrivateKeyPem, revealSeedForDropped } from '../runtime/secure-aggregation-crypto';
import { enrolledMaskingKeys } from './enrolled-keys';
import { makeEvent, publishEvent } from './event-publishing';
import type { EnrolledKeys } from './hospital-enrolment';
import { readRound } from './run-documents';

export interface SeedRevealDeps {
  documents: Pick<DocumentStore, 'get' | 'list'>;
  events: Pick<EventBus, 'publish'>;
  /** The hospital's keys, already checked against its enrolment. */
  keys: EnrolledKeys;
  sign: HospitalEventSigner;
  clock: Clock;
  logger: Logger;
}

export type SeedRevealOutcome = { status: 'done' | 'skipped'; detail: string };

/**
 * Survivor side of dropout recovery (the `reveal` job mode): publishes, signed, this hospital's
 * pairwise seeds with exactly the hospitals the round declared dropped; the aggregator verifies
 * and records them (a hospital writes no shared state). Refuses (throws) when a declared dropout's
 * update was accepted after all: with that seed and that update the aggregator could unmask it.
 * Only the pairwise seed s_{self,dropped} is revealed, never the private key. Re-sending is safe:
 * the same seeds are derived again and the event id is the same.
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
    return skip(`seeds for round ${round} already revealed`);
  const dropped = await checkDropouts(deps.documents, roundDoc, hospitalId);
  if (dropped === 'not-a-survivor') return skip(`no accepted update from ${hospitalId} in round ${round}`);

  const privateKey = importPrivateKeyPem(deps.keys.masking.privateKeyPem);
  const droppedKeys = await enrolledMaskingKeys(deps.documents, dropped);
  const seeds: RevealedSeed[] = dropped.map((droppedId) =>
    revealSeedForDropped({
      runId,
      round,
      survivorId: hospitalId,
      privateKey,
      droppedId,
      droppedPublicKey: droppedKeys.get(droppedId)!,
    }),
  );
  await publishEvent(
    deps.events,
    deps.sign(
      makeEvent('seeds.revealed', {
        id: `seeds:${runId}:${round}:${hospitalId}`,
        runId,
        round,
        time: deps.clock.now(),
        data: {
          hospitalId,
          seeds: seeds.map((s) => ({ droppedId: s.droppedId, seed: Buffer.from(s.seed).toString('base64') })),
        },
      }),
    ),
  );
  logs.seedsRevealed(deps.logger, runId, round, hospitalId, dropped);
  return { status: 'done', detail: `seeds with ${dropped.join(', ')} revealed` };
}

/**
 * The dropped hospitals this survivor may reveal seeds for, after checking the round's claim
 * against the receipts: the survivor's own update was accepted, and no declared dropout's was.
 */
async function checkDropouts(
  documents: Pick<DocumentStore, 'list'>,
  roundDoc: RoundDocument,
  hospitalId: string,
): Promise<string[] | 'not-a-survivor'> {
  const { runId, round, masking, droppedHospitals } = roundDoc;
  if (masking === null) throw new Error(`round ${round} of run ${runId} is not masked; there are no seeds`);
  const receipts = new Map(
    (await documents.list(paths.updates(runId, round))).map((s) => {
      const receipt = UpdateReceiptSchema.parse(s.data);
      return [receipt.hospitalId, receipt] as const;
    }),
  );
  if (droppedHospitals.includes(hospitalId) || receipts.get(hospitalId)?.status !== 'accepted')
    return 'not-a-survivor';
  for (const droppedId of droppedHospitals) {
    if (!masking.participants.includes(droppedId))
      throw new Error(`refusing to reveal: ${droppedId} is not a masking participant of round ${round}`);
    if (receipts.get(droppedId)?.status === 'accepted') {
      throw new Error(
        `refusing to reveal my seed with ${droppedId}: its update for round ${round} was received, and the seed would unmask it`,
      );
    }
  }
  return [...droppedHospitals];
}
