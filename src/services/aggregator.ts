import type { Delivery } from '../ports/event-bus';
import { logs } from '../logs';
import { AggregatorContext, type AggregatorDeps } from './aggregation/aggregator-context';
import { receiveEvaluation } from './aggregation/evaluation-intake';
import { tryCloseRound } from './aggregation/round-state';
import { receiveSeeds } from './aggregation/seed-intake';
import { receiveUpdate } from './aggregation/update-intake';
import { decodeDelivery } from './event-publishing';

export { RetryLaterError, type AggregatorDeps } from './aggregation/aggregator-context';

/**
 * The aggregation function's logic (functions/aggregate registers it): it routes each message to
 * the part of the aggregator that owns it (src/services/aggregation/): intake of updates (verify,
 * then receipt), of evaluations and of revealed seeds — each verified against the sender's
 * enrolled key before anything is recorded — and the round's state machine on deadlines, which
 * hands a complete round to the aggregation (re-verify, unmask, DP-FedAvg, publish). Every step is
 * idempotent because delivery is at-least-once.
 */
export class Aggregator {
  private readonly ctx: AggregatorContext;

  constructor(deps: AggregatorDeps) {
    this.ctx = new AggregatorContext(deps);
  }

  /** Handles one message. Bad input is audited and acknowledged (returns); only transient trouble throws. */
  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const decoded = decodeDelivery(delivery);
    if (!decoded.ok) {
      logs.poisonMessage(this.ctx.deps.logger, decoded.reason);
      await this.ctx.audit(null, null, 'message', null, 'rejected', decoded.reason);
      return;
    }
    const event = decoded.event;
    if (event.type === 'update.submitted') return receiveUpdate(this.ctx, event);
    if (event.type === 'evaluation.reported') return receiveEvaluation(this.ctx, event);
    if (event.type === 'seeds.revealed') return receiveSeeds(this.ctx, event);
    if (event.type === 'round.deadline')
      return tryCloseRound(this.ctx, event.runId, event.round, true, event.data.deadline);
    // Other events on the subscribed topics are not the aggregator's business.
  }
}
