import {
  paths,
  RevealedSharesSchema,
  UpdateReceiptSchema,
  type RevealedShares,
  type RoundDocument,
} from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import type { RevealBundle } from '../../../schemas/secure-aggregation';
import { revealsSelfMask } from '../../core/secure-aggregation';
import { logs } from '../../logs';
import { verifyReveal } from '../../runtime/double-masking-bundles';
import { importSigningPublicKey } from '../../runtime/update-signing';
import { signingKeyAt, verifySender } from '../enrolled-keys';
import type { AggregatorContext } from './aggregator-context';
import { tryCloseRound } from './round-state';

/**
 * `seeds.revealed`: a survivor's reveal for a masked round (one share or pair seed per
 * participant, docs/architecture.md §5 phase 3), recorded (once) only when the event is signed by
 * that survivor, the reveal inside verifies under the same enrolled key for this run and round,
 * the round awaits seeds, the round accepted the survivor's update, and the reveal answers the
 * round's commitment for every participant — a self-mask share of exactly the update received from
 * it, or a round-key share or pair seed for a declared dropout. So nobody can post a reveal in
 * another's name, nothing that would unmask a received update as dropped is recorded, and a bad
 * reveal is refused here instead of failing the round at the unmasking.
 */
export async function receiveSeeds(ctx: AggregatorContext, event: EventOf<'seeds.revealed'>): Promise<void> {
  const { deps } = ctx;
  const { runId, round } = event;
  const hospitalId = event.data.hospitalId;
  const refuse = async (reason: string) => {
    logs.unverifiedMessage(deps.logger, event.type, hospitalId, reason);
    await ctx.audit(runId, round, 'seeds.revealed', hospitalId, 'rejected', reason);
  };
  const now = deps.clock.now();
  const sender = await verifySender(deps.documents, event, now);
  if (!sender.ok) return refuse(sender.reason);
  const roundDoc = await ctx.getRound(runId, round);
  if (!roundDoc) return refuse(`round ${round} of run ${runId} was never opened`);
  if (roundDoc.status !== 'awaiting-seeds' || roundDoc.masking === null)
    return refuse(`round ${round} is ${roundDoc.status}, not awaiting seeds`);
  const received = await receivedUpdates(ctx, roundDoc);
  if (!received.has(hospitalId)) return refuse(`${hospitalId} is not a survivor of round ${round}`);
  const key = signingKeyAt(sender.enrolment, now);
  if (!key.ok) return refuse(key.reason);
  let reveal: RevealBundle;
  try {
    reveal = verifyReveal(
      event.data.reveal,
      { runId, round, hospitalId },
      importSigningPublicKey(key.signingPublicKey),
    ).bundle;
  } catch (error) {
    return refuse((error as Error).message);
  }
  const mismatch = commitmentMismatch(roundDoc, received, reveal);
  if (mismatch !== null) return refuse(mismatch);
  const doc: RevealedShares = RevealedSharesSchema.parse({
    survivorId: hospitalId,
    reveal,
    revealedAt: now.toISOString(),
  });
  if (await deps.documents.create(paths.revealedSeed(runId, round, hospitalId), doc))
    await ctx.audit(runId, round, 'seeds.revealed', hospitalId, 'accepted', null);
  await tryCloseRound(ctx, runId, round, false);
}

/** Survivors of the round (accepted, not declared dropped) → SHA-256 of the update received from each. */
async function receivedUpdates(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
): Promise<Map<string, string>> {
  const received = new Map<string, string>();
  for (const snapshot of await ctx.deps.documents.list(paths.updates(roundDoc.runId, roundDoc.round))) {
    const receipt = UpdateReceiptSchema.safeParse(snapshot.data);
    if (!receipt.success || receipt.data.status !== 'accepted') continue;
    if (roundDoc.droppedHospitals.includes(receipt.data.hospitalId)) continue;
    received.set(receipt.data.hospitalId, receipt.data.sha256);
  }
  return received;
}

/** Null when the reveal answers the round's commitment for each participant exactly once; otherwise why not. */
function commitmentMismatch(
  roundDoc: RoundDocument,
  received: ReadonlyMap<string, string>,
  reveal: RevealBundle,
): string | null {
  const participants = roundDoc.masking!.participants;
  const dropped = new Set(roundDoc.droppedHospitals);
  const named = reveal.reveals.map((r) => r.peerId);
  if (named.length !== participants.length || new Set(named).size !== named.length)
    return `the reveal names ${named.join(', ') || 'nobody'}, the round's participants are ${participants.join(', ')}`;
  for (const entry of reveal.reveals) {
    const { peerId, kind } = entry;
    if (!participants.includes(peerId)) return `${peerId} is not a participant of round ${roundDoc.round}`;
    const sha = received.get(peerId);
    if (sha !== undefined) {
      if (!revealsSelfMask(kind) || entry.updateSha256 !== sha)
        return `the reveal holds a ${kind} share of ${peerId}, whose update ${sha.slice(0, 12)}… was received: only its self-mask share may be revealed`;
    } else if (dropped.has(peerId)) {
      if (revealsSelfMask(kind))
        return `the reveal holds a self-mask share of ${peerId}, which the round dropped`;
    } else return `the round has not said whether ${peerId} arrived or dropped`;
  }
  return null;
}
