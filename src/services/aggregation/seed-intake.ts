import {
  paths,
  RevealedSeedsSchema,
  UpdateReceiptSchema,
  type RevealedSeeds,
} from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import { logs } from '../../logs';
import { verifySender } from '../enrolled-keys';
import type { AggregatorContext } from './aggregator-context';
import { tryCloseRound } from './round-state';

const SEED_BYTES = 32;

/**
 * `seeds.revealed`: a survivor's pairwise seeds with the hospitals the round declared dropped,
 * recorded (once) only when signed by that survivor, while the round awaits seeds, from a
 * hospital whose update the round accepted, and for exactly the declared dropouts — so nobody can
 * post seeds in another's name, and no seed of a hospital whose update was received is recorded.
 */
export async function receiveSeeds(ctx: AggregatorContext, event: EventOf<'seeds.revealed'>): Promise<void> {
  const { deps } = ctx;
  const { runId, round } = event;
  const hospitalId = event.data.hospitalId;
  const refuse = async (reason: string) => {
    logs.unverifiedMessage(deps.logger, event.type, hospitalId, reason);
    await ctx.audit(runId, round, 'seeds.revealed', hospitalId, 'rejected', reason);
  };
  const sender = await verifySender(deps.documents, event, deps.clock.now());
  if (!sender.ok) return refuse(sender.reason);
  const roundDoc = await ctx.getRound(runId, round);
  if (!roundDoc) return refuse(`round ${round} of run ${runId} was never opened`);
  if (roundDoc.status !== 'awaiting-seeds')
    return refuse(`round ${round} is ${roundDoc.status}, not awaiting seeds`);
  const receipt = UpdateReceiptSchema.safeParse(
    await deps.documents.get(paths.update(runId, round, hospitalId)),
  );
  if (
    !receipt.success ||
    receipt.data.status !== 'accepted' ||
    roundDoc.droppedHospitals.includes(hospitalId)
  )
    return refuse(`${hospitalId} is not a survivor of round ${round}`);
  const named = event.data.seeds.map((s) => s.droppedId).sort();
  const dropped = [...roundDoc.droppedHospitals].sort();
  if (named.length !== dropped.length || named.some((id, i) => id !== dropped[i]))
    return refuse(`seeds name ${named.join(', ') || 'nobody'}, the round dropped ${dropped.join(', ')}`);
  for (const { droppedId, seed } of event.data.seeds) {
    const bytes = Buffer.from(seed, 'base64');
    if (bytes.length !== SEED_BYTES || bytes.toString('base64') !== seed)
      return refuse(`seed with ${droppedId} is not ${SEED_BYTES} bytes of base64`);
  }
  const doc: RevealedSeeds = RevealedSeedsSchema.parse({
    survivorId: hospitalId,
    seeds: event.data.seeds,
    revealedAt: deps.clock.now().toISOString(),
  });
  if (await deps.documents.create(paths.revealedSeed(runId, round, hospitalId), doc))
    await ctx.audit(runId, round, 'seeds.revealed', hospitalId, 'accepted', null);
  await tryCloseRound(ctx, runId, round, false);
}
