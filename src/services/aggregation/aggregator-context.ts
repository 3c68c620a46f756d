import type { LeaseHolder, RoundDocument, RunDocument } from '../../../schemas/documents';
import type { SecureRandom } from '../../core/random/random';
import type { Logger } from '../../logging/logger';
import type { BlobStore } from '../../ports/blob-store';
import type { Clock } from '../../ports/clock';
import type { DocumentStore } from '../../ports/document-store';
import type { EventBus } from '../../ports/event-bus';
import type { ModelRegistry } from '../../ports/model-registry';
import { recordAudit } from '../audit';
import { readRound, readRun } from '../run-documents';

export interface AggregatorDeps {
  documents: DocumentStore;
  blobs: BlobStore;
  events: EventBus;
  models: ModelRegistry;
  clock: Clock;
  logger: Logger;
  /** DP noise comes only from a CSPRNG. */
  random: SecureRandom;
  /** Identifies this aggregator instance in round leases. */
  instanceId: string;
  /**
   * How long a lease protects an aggregation in progress without a renewal (default 30 s); the
   * holder renews it every third of that while it works, and confirms it before it publishes.
   */
  leaseSeconds?: number;
  /**
   * Where a dead holder can be proved dead (the local stacks: every aggregator is a process on
   * this machine), its lease is taken over at once instead of at its expiry. Absent in the cloud.
   */
  leaseHolders?: LeaseHolderProbe;
}

/** Names this process in the leases it takes, and tells whether a recorded holder is provably gone. */
export interface LeaseHolderProbe {
  self(): LeaseHolder;
  /** True only on proof (same machine and boot, process gone); false when it cannot tell. */
  isGone(holder: LeaseHolder): boolean;
}

/** Thrown to nack a message so it is redelivered later (for example while another instance holds the lease). */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

export type AuditOutcome = 'accepted' | 'rejected' | 'info';

/** What every part of the aggregator shares: its ports, and reading runs and rounds, and auditing as itself. */
export class AggregatorContext {
  constructor(readonly deps: AggregatorDeps) {}

  getRun(runId: string): Promise<RunDocument | undefined> {
    return readRun(this.deps.documents, runId);
  }

  getRound(runId: string, round: number): Promise<RoundDocument | undefined> {
    return readRound(this.deps.documents, runId, round);
  }

  audit(
    runId: string | null,
    round: number | null,
    action: string,
    subject: string | null,
    outcome: AuditOutcome,
    reason: string | null,
  ): Promise<void> {
    return recordAudit(
      this.deps.documents,
      { runId, round, actor: 'aggregator', action, outcome, reason, subject },
      this.deps.clock.now(),
    );
  }
}
