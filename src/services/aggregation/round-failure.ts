import { paths, RoundDocumentSchema, RunDocumentSchema } from '../../../schemas/documents';
import { logs } from '../../logs';
import { makeEvent, publishEvent } from '../event-publishing';
import type { AggregatorContext } from './aggregator-context';

/** Ends a round without a model: the run moves past it, nothing is charged, round.failed says why. */
export async function failRound(
  ctx: AggregatorContext,
  runId: string,
  round: number,
  reason: string,
  received: string[],
): Promise<void> {
  const { deps } = ctx;
  const failed = await deps.documents.runTransaction(async (tx) => {
    const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
    const run = RunDocumentSchema.parse(await tx.get(paths.run(runId)));
    if (current.status === 'closed' || current.status === 'failed') return false;
    const now = deps.clock.now().toISOString();
    tx.update(paths.round(runId, round), {
      status: 'failed',
      failureReason: reason,
      closedAt: now,
      lease: null,
    });
    // A failed round is over too: the run moves past it, with nothing charged to the ledger.
    tx.update(paths.run(runId), { currentRound: Math.max(run.currentRound, round), updatedAt: now });
    return true;
  });
  if (!failed) return;
  logs.roundFailed(deps.logger, runId, round, reason);
  await publishEvent(
    deps.events,
    makeEvent('round.failed', {
      id: `round.failed:${runId}:${round}`,
      runId,
      round,
      time: deps.clock.now(),
      data: { reason, received },
    }),
  );
}
