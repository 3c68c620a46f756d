import { randomUUID } from 'node:crypto';
import { paths, RoundDocumentSchema, type LeaseHolder } from '../../../schemas/documents';
import { logs } from '../../logs';
import { RetryLaterError, type AggregatorContext } from './aggregator-context';

/** Without a renewal a lease protects an aggregation this long (the holder renews every third). */
export const DEFAULT_LEASE_SECONDS = 30;

/**
 * The right to aggregate one round. Two holders at once would draw two different noises for one
 * model version; the lease keeps one, and `confirm` is the fence before anything is released: a
 * holder that lost its lease (paused past its expiry, taken over) learns it there and throws its
 * noise away unpublished.
 */
export interface RoundLease {
  readonly token: string;
  /** Renews the lease; throws LeaseLostError when it is no longer this holder's. */
  confirm(): Promise<void>;
  /** Stops renewing (the round's close clears the lease itself). */
  stop(): void;
}

export class LeaseLostError extends RetryLaterError {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/**
 * Takes the round's lease and returns it, renewed in the background while the caller works; null
 * when the round is already finished. Throws RetryLaterError while an unexpired lease is held by a
 * holder that may be alive — also one held by this instance, since two deliveries (the last update
 * and the deadline) can reach one instance at the same moment. A holder proved dead (the local
 * stacks' probe: its process on this machine is gone) is taken over at once, without waiting for
 * its expiry.
 */
export async function takeLease(
  ctx: AggregatorContext,
  runId: string,
  round: number,
): Promise<RoundLease | null> {
  const { deps } = ctx;
  const leaseMs = (deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  const now = deps.clock.now();
  const token = `${deps.instanceId}/${randomUUID().slice(0, 8)}`;
  const holder: LeaseHolder | null = deps.leaseHolders?.self() ?? null;
  const outcome = await deps.documents.runTransaction(async (tx) => {
    const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
    if (current.status === 'closed' || current.status === 'failed') return { kind: 'finished' as const };
    const lease = current.status === 'aggregating' ? current.lease : null;
    const unexpired = lease !== null && new Date(lease.expiresAt) > now;
    const provedDead = unexpired && lease.holder !== null && deps.leaseHolders?.isGone(lease.holder) === true;
    if (unexpired && !provedDead) return { kind: 'held' as const, owner: lease.owner };
    tx.update(paths.round(runId, round), {
      status: 'aggregating',
      lease: { owner: token, expiresAt: new Date(now.getTime() + leaseMs).toISOString(), holder },
    });
    return { kind: 'taken' as const, from: lease?.owner ?? null, provedDead };
  });
  if (outcome.kind === 'finished') return null;
  if (outcome.kind === 'held') {
    logs.leaseBusy(deps.logger, runId, round, outcome.owner);
    throw new RetryLaterError(`round ${round} of run ${runId} is being aggregated by ${outcome.owner}`);
  }
  if (outcome.from !== null)
    logs.leaseTakenOver(
      deps.logger,
      runId,
      round,
      outcome.from,
      outcome.provedDead ? 'holder-gone' : 'expired',
    );
  return heldLease(ctx, runId, round, token, leaseMs);
}

function heldLease(
  ctx: AggregatorContext,
  runId: string,
  round: number,
  token: string,
  leaseMs: number,
): RoundLease {
  const { deps } = ctx;
  const confirm = async () => {
    const renewed = await deps.documents.runTransaction(async (tx) => {
      const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
      if (current.status !== 'aggregating' || current.lease?.owner !== token) return false;
      const expiresAt = new Date(deps.clock.now().getTime() + leaseMs).toISOString();
      tx.update(paths.round(runId, round), { lease: { ...current.lease, expiresAt } });
      return true;
    });
    if (!renewed) throw new LeaseLostError(`round ${round} of run ${runId}: lease ${token} was lost`);
  };
  // The heartbeat: renewals every third of the lease keep a live holder's lease from expiring
  // during a long aggregation; a failed renewal is logged, and the fence (confirm) decides.
  const timer = setInterval(() => {
    confirm().catch((error: unknown) =>
      logs.leaseRenewalFailed(
        deps.logger,
        runId,
        round,
        error instanceof Error ? error.message : String(error),
      ),
    );
  }, leaseMs / 3);
  timer.unref();
  return { token, confirm, stop: () => clearInterval(timer) };
}
