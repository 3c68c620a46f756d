import {
  blobPaths,
  paths,
  RoundDocumentSchema,
  UpdateReceiptSchema,
  type RoundDocument,
  type UpdateReceipt,
} from '../../../schemas/documents';
import { logs } from '../../logs';
import type { AggregatorContext } from './aggregator-context';
import { revealedSurvivors } from '../masked-aggregation';
import { aggregateRound } from './round-aggregation';
import { failRound } from './round-failure';
import { takeLease, type RoundLease } from './round-lease';

/**
 * The round's state machine: open → (awaiting-seeds) → aggregating → closed | failed. It decides
 * from the aggregator's own receipts (only the aggregator writes them) when a round is complete —
 * every expected hospital answered, or the deadline passed — whether the quorum is met, whether a
 * masked round must wait for the survivors' reveal, and who holds the lease
 * to aggregate. The aggregation itself re-verifies every included update (round-aggregation.ts).
 */
export async function tryCloseRound(
  ctx: AggregatorContext,
  runId: string,
  round: number,
  deadlineSignalled: boolean,
  signalledDeadline?: string,
): Promise<void> {
  const { deps } = ctx;
  const roundDoc = await ctx.getRound(runId, round);
  if (!roundDoc || roundDoc.status === 'closed' || roundDoc.status === 'failed') return;
  // One receipt per hospital: fewer receipts than expected hospitals before the deadline means
  // nothing to do, known from a count instead of reading every receipt on every update (O(K²)).
  if (
    roundDoc.status === 'open' &&
    !deadlineSignalled &&
    deps.clock.now() < new Date(roundDoc.deadline) &&
    (await deps.documents.count(paths.updates(runId, round))) < roundDoc.expectedHospitals.length
  )
    return;
  const receipts = (await deps.documents.list(paths.updates(runId, round))).map((s) =>
    UpdateReceiptSchema.parse(s.data),
  );
  // Once a masked round has declared dropouts, their updates never count (survivors revealed shares for them).
  const accepted = receipts.filter(
    (r) => r.status === 'accepted' && !roundDoc.droppedHospitals.includes(r.hospitalId),
  );
  if (roundDoc.status === 'awaiting-seeds') {
    const ready = await seedsReady(ctx, roundDoc, accepted, signalledDeadline);
    if (!ready) return;
    await aggregateUnderLease(ctx, roundDoc, accepted, await takeLease(ctx, runId, round));
    return;
  }
  const answered = new Set(receipts.map((r) => r.hospitalId));
  const everyoneAnswered = roundDoc.expectedHospitals.every((h) => answered.has(h));
  const deadlinePassed = deadlineSignalled || deps.clock.now() >= new Date(roundDoc.deadline);
  if (!everyoneAnswered && !deadlinePassed) return;

  if (accepted.length < roundDoc.quorum) {
    const unreceived = everyoneAnswered ? [] : await submittedNotReceived(ctx, roundDoc, answered);
    if (unreceived.length > 0 && accepted.length + unreceived.length >= roundDoc.quorum) {
      const until = await replayWindowEnd(ctx, roundDoc);
      if (deps.clock.now() < until) {
        logs.roundAwaitingReplay(deps.logger, runId, round, unreceived, until.toISOString());
        return;
      }
    }
    const missing =
      unreceived.length > 0
        ? `; ${unreceived.join(', ')} uploaded an update that never reached the aggregator (dead-lettered or lost): \`himas deadletter list --run ${runId}\``
        : '';
    const reason = `${accepted.length} accepted update(s), quorum is ${roundDoc.quorum}${everyoneAnswered ? '' : ' (deadline passed)'}${missing}`;
    await failRound(
      ctx,
      runId,
      round,
      reason,
      accepted.map((r) => r.hospitalId),
    );
    return;
  }
  // Double masking: every masked round needs the survivors' reveal (their self-mask shares), not
  // only one that lost participants.
  if (roundDoc.status === 'open' && roundDoc.masking !== null) {
    const delivered = new Set(accepted.map((r) => r.hospitalId));
    await awaitSeeds(
      ctx,
      roundDoc,
      roundDoc.masking.participants.filter((h) => !delivered.has(h)),
    );
    return;
  }
  await aggregateUnderLease(ctx, roundDoc, accepted, await takeLease(ctx, runId, round));
}

async function aggregateUnderLease(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
  accepted: UpdateReceipt[],
  lease: RoundLease | null,
): Promise<void> {
  if (lease === null) return;
  try {
    await aggregateRound(ctx, roundDoc, accepted, lease);
  } finally {
    lease.stop();
  }
}

/**
 * The expected hospitals with no receipt whose update is in the blob store: each uploaded its
 * update and then published it, so the message is in flight, or was dead-lettered while the
 * aggregator was unreachable (`himas deadletter replay` brings it back). The upload is the
 * hospital's own write, so at worst a hospital that uploads without sending delays its round by
 * the replay window, never more.
 */
async function submittedNotReceived(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
  answered: Set<string>,
): Promise<string[]> {
  const unreceived: string[] = [];
  for (const hospitalId of roundDoc.expectedHospitals) {
    if (answered.has(hospitalId) || roundDoc.droppedHospitals.includes(hospitalId)) continue;
    const uploaded = await ctx.deps.blobs.stat(blobPaths.update(roundDoc.runId, roundDoc.round, hospitalId));
    if (uploaded !== undefined) unreceived.push(hospitalId);
  }
  return unreceived;
}

/**
 * How long a round short of its quorum waits, past its deadline, for updates that were sent but
 * not received: one more deadline period, time for an operator to replay the dead letters.
 */
async function replayWindowEnd(ctx: AggregatorContext, roundDoc: RoundDocument): Promise<Date> {
  const deadlineSeconds = (await ctx.getRun(roundDoc.runId))?.config.deadlineSeconds ?? 600;
  return new Date(new Date(roundDoc.deadline).getTime() + deadlineSeconds * 1000);
}

/**
 * A masked round's updates are in (or its deadline passed): the round commits to who arrived and
 * who dropped (so a late update from a dropout is stale, never accepted) and waits for the
 * survivors' reveal — self-mask shares of the arrived, shares or pair seeds for the dropped (the
 * workflow runs the survivors' jobs in `reveal` mode).
 */
async function awaitSeeds(ctx: AggregatorContext, roundDoc: RoundDocument, dropped: string[]): Promise<void> {
  const { deps } = ctx;
  const { runId, round } = roundDoc;
  // Strictly after the round's deadline, so a round.deadline naming one can never be read as the other.
  const from = Math.max(deps.clock.now().getTime(), new Date(roundDoc.deadline).getTime());
  const deadlineSeconds = (await ctx.getRun(runId))?.config.deadlineSeconds ?? 600;
  const seedsDeadline = new Date(from + deadlineSeconds * 1000);
  const moved = await deps.documents.runTransaction(async (tx) => {
    const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
    if (current.status !== 'open') return false;
    tx.update(paths.round(runId, round), {
      status: 'awaiting-seeds',
      droppedHospitals: dropped,
      seedsDeadline: seedsDeadline.toISOString(),
    });
    return true;
  });
  if (!moved) return;
  logs.roundAwaitingSeeds(deps.logger, runId, round, dropped);
  await ctx.audit(
    runId,
    round,
    'secure-aggregation.dropouts',
    dropped.join(','),
    'info',
    dropped.length > 0
      ? `masked updates missing from ${dropped.join(', ')}; the survivors reveal their self-mask shares and their shares (or pair seeds) for them`
      : 'every masked update arrived; the survivors reveal their self-mask shares',
  );
}

/**
 * True when every survivor has revealed, or, at the seeds deadline (signalled with that deadline,
 * or passed on the clock), when at least t have (t-of-n shares). Fewer at the deadline fails the
 * round: its sum cannot be unmasked.
 */
async function seedsReady(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
  accepted: UpdateReceipt[],
  signalledDeadline: string | undefined,
): Promise<boolean> {
  const { deps } = ctx;
  const { runId, round } = roundDoc;
  const revealed = await revealedSurvivors(deps.documents, roundDoc);
  const missing = accepted.map((r) => r.hospitalId).filter((h) => !revealed.has(h));
  if (missing.length === 0) return true;
  const seedsDeadline = roundDoc.seedsDeadline;
  const over =
    seedsDeadline !== null &&
    (signalledDeadline === seedsDeadline || deps.clock.now() >= new Date(seedsDeadline));
  // t-of-n: at the deadline t reveals may be enough (the unmasking says if they are not).
  const threshold = roundDoc.masking!.threshold;
  if (over && accepted.length - missing.length >= threshold) return true;
  if (over) {
    await failRound(
      ctx,
      runId,
      round,
      `secure aggregation: ${missing.join(', ')} did not reveal their shares, and the ${accepted.length - missing.length} that did are fewer than the threshold ${threshold}; the sum cannot be unmasked`,
      accepted.map((r) => r.hospitalId),
    );
  }
  return false;
}
