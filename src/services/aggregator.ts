import { createHash, randomUUID } from 'node:crypto';
import {
  blobPaths,
  HospitalEnrolmentSchema,
  modelVersionId,
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  UpdateReceiptSchema,
  type ModelVersionDocument,
  type RoundDocument,
  type RunDocument,
  type UpdateReceipt,
} from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import { HospitalEvaluationSchema } from '../../schemas/metrics';
import { decodeUpdate, UpdateFormatError } from '../core/codec/update-codec';
import { EVALUATION_RISK_CUTS, sameCuts } from '../core/evaluation/risk-histogram';
import { pooledQuality } from './evaluation-pooling';
import type { SecureRandom } from '../core/random/random';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import { NotFoundError } from '../ports/errors';
import type { Delivery, EventBus } from '../ports/event-bus';
import type { ModelRegistry } from '../ports/model-registry';
import { verifyUpdateSignature } from '../runtime/update-signing';
import { recordAudit } from './audit';
import { readRound, readRun } from './run-documents';
import { buildDpFedAvg, buildStrategy, loadStrategyState, saveStrategyState } from './strategy-from-config';
import { checkMasking, revealedSurvivors, unmaskedClippedSum } from './masked-aggregation';
import { SecureAggregationError } from '../core/secure-aggregation';
import { decodeDelivery, makeEvent, publishEvent } from './event-publishing';
import { describeGuarantee, hospitalLevelGuarantee, roundPrivacyEvent } from './privacy-guarantee';
import type { HospitalPrivacy, PrivacyGuarantee } from '../../schemas/privacy';
import type { LedgerExcerpt } from '../../schemas/privacy-ledger';
import { chargedFor, excerptOf, readPublishedLedger } from './published-ledgers';
import { hospitalPrivacy, worstPatientGuarantee } from './patient-privacy';
import { bytesFromWeights, weightsFromBytes } from './weights-bytes';

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
  /** How long a lease protects an aggregation in progress (default 120 s). */
  leaseSeconds?: number;
}

/** Thrown to nack a message so it is redelivered later (for example while another instance holds the lease). */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/**
 * The aggregation function's logic (functions/aggregate registers it). It consumes
 * `update.submitted`, `evaluation.reported` and `round.deadline`; every step is idempotent because
 * delivery is at-least-once: receipts are created once, the round is aggregated under a lease, and a
 * model version that already exists is reused rather than recomputed.
 */
export class Aggregator {
  constructor(private readonly deps: AggregatorDeps) {}

  /** Handles one message. Bad input is audited and acknowledged (returns); only transient trouble throws. */
  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const decoded = decodeDelivery(delivery);
    if (!decoded.ok) {
      logs.poisonMessage(this.deps.logger, decoded.reason);
      await this.audit(null, null, 'message', null, 'rejected', decoded.reason);
      return;
    }
    const event = decoded.event;
    if (event.type === 'update.submitted') return this.onUpdateSubmitted(event);
    if (event.type === 'evaluation.reported') return this.recordEvaluation(event.data);
    if (event.type === 'round.deadline')
      return this.tryCloseRound(event.runId, event.round, true, event.data.deadline);
    // Other events on the subscribed topics are not the aggregator's business.
  }

  private async onUpdateSubmitted(event: EventOf<'update.submitted'>): Promise<void> {
    const { runId, round } = event;
    const { hospitalId } = event.data;
    const receiptPath = paths.update(runId, round, hospitalId);
    const verdict = await this.checkUpdate(event);
    if (verdict.reason !== null && verdict.round === null) {
      // No open round to attach a receipt to (unknown run, stale or closed round).
      logs.updateRejected(this.deps.logger, runId, round, hospitalId, verdict.reason);
      await this.audit(runId, round, 'update.submitted', hospitalId, 'rejected', verdict.reason);
      return;
    }
    const receipt: UpdateReceipt = {
      hospitalId,
      eventId: event.id,
      status: verdict.reason === null ? 'accepted' : 'rejected',
      reason: verdict.reason,
      blobPath: event.data.blobPath,
      sha256: event.data.sha256,
      numExamples: event.data.numExamples,
      norm: verdict.norm,
      trainLoss: event.data.trainLoss,
      receivedAt: this.deps.clock.now().toISOString(),
      ledgerSequence: event.data.ledgerSequence,
    };
    const created = await this.deps.documents.create(receiptPath, receipt);
    const stored = created ? receipt : await this.storedReceipt(receiptPath, receipt);
    if (!created) logs.updateDuplicate(this.deps.logger, runId, round, hospitalId);
    else if (receipt.status === 'accepted')
      logs.updateAccepted(this.deps.logger, runId, round, hospitalId, verdict.norm);
    else logs.updateRejected(this.deps.logger, runId, round, hospitalId, receipt.reason ?? '');
    // Audit and evaluation on every delivery, duplicates too: both are idempotent (the audit id comes
    // from the facts, the evaluation is created once), so a crash after the receipt loses neither.
    await this.audit(runId, round, 'update.submitted', hospitalId, stored.status, stored.reason);
    if (event.data.baseEvaluation !== null) await this.recordEvaluation(event.data.baseEvaluation);
    // Also on duplicates: a redelivery after a crash must be able to finish the round.
    await this.tryCloseRound(runId, round, false);
  }

  /** Validates an update against its round; `reason` null means accepted. */
  private async checkUpdate(
    event: EventOf<'update.submitted'>,
  ): Promise<{ reason: string | null; norm: number | null; round: RoundDocument | null }> {
    const { runId, round, data } = event;
    const run = await this.getRun(runId);
    if (!run) return { reason: `unknown run ${runId}`, norm: null, round: null };
    const roundDoc = await this.getRound(runId, round);
    if (!roundDoc)
      return { reason: `round ${round} of run ${runId} was never opened`, norm: null, round: null };
    const existing = await this.deps.documents.get(paths.update(runId, round, data.hospitalId));
    if (roundDoc.status !== 'open' && !existing) {
      return {
        reason: `stale update: round ${round} is already ${roundDoc.status}`,
        norm: null,
        round: null,
      };
    }
    const reject = (reason: string) => ({ reason, norm: null, round: roundDoc });
    if (!roundDoc.expectedHospitals.includes(data.hospitalId)) {
      return reject(`hospital ${data.hospitalId} is not expected in round ${round}`);
    }
    if (data.baseModelVersionId !== roundDoc.baseModelVersionId) {
      return reject(
        `update was trained from ${data.baseModelVersionId}, the round started from ${roundDoc.baseModelVersionId}`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.deps.blobs.get(data.blobPath);
    } catch (error) {
      if (error instanceof NotFoundError) return reject(`update blob ${data.blobPath} does not exist`);
      throw error;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== data.sha256)
      return reject(
        `update blob checksum ${sha256.slice(0, 12)}… does not match the event's ${data.sha256.slice(0, 12)}…`,
      );
    const signatureProblem = await this.checkSignature(event, bytes);
    if (signatureProblem) return reject(signatureProblem);
    const declared = run.declaredTrainStays[data.hospitalId];
    if (data.numExamples !== declared)
      return reject(
        `update weight ${data.numExamples} is not ${data.hospitalId}'s declared cohort size ${declared ?? '(none)'}: a weight from the records would leak the cohort size`,
      );
    const ledgerProblem = await this.checkLedgerCharge(event);
    if (ledgerProblem) return reject(ledgerProblem);
    let decoded: ReturnType<typeof decodeUpdate>;
    try {
      decoded = decodeUpdate(bytes);
    } catch (error) {
      if (error instanceof UpdateFormatError) return reject(error.message);
      throw error;
    }
    const maskingProblem = checkMasking(roundDoc, data.masking, decoded.encoding);
    if (maskingProblem) return reject(maskingProblem);
    const base = await this.deps.models.get(roundDoc.baseModelVersionId);
    if (!base) throw new RetryLaterError(`base model ${roundDoc.baseModelVersionId} not found yet`);
    if (decoded.values.length !== base.numParameters) {
      return reject(`update has ${decoded.values.length} parameters, the model has ${base.numParameters}`);
    }
    // A masked update is uniform noise to us: its norm cannot be checked. Clipping is enforced at
    // the source (the hospital clips before encoding; the fixed-point encoder refuses |v| > C).
    if (decoded.encoding === 'int32') return { reason: null, norm: null, round: roundDoc };
    const values = decoded.values as Float32Array;
    let sumSquares = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) return reject(`update value ${i} is ${v}`);
      sumSquares += v * v;
    }
    const norm = Math.sqrt(sumSquares);
    if (run.config.aggregation === 'dp-fedavg' && norm > run.config.clipNorm * (1 + 1e-4)) {
      return reject(`update norm ${norm.toFixed(4)} exceeds the clip norm ${run.config.clipNorm}`);
    }
    return { reason: null, norm, round: roundDoc };
  }

  /**
   * Null when the hospital's published ledger verifies and charges this round's training at or
   * before the entry the update names: no update is accepted that its patients did not pay for.
   */
  private async checkLedgerCharge(event: EventOf<'update.submitted'>): Promise<string | null> {
    const { hospitalId, ledgerSequence } = event.data;
    const ledger = await readPublishedLedger(this.deps, hospitalId);
    if (!ledger.ok) return `privacy ledger: ${ledger.reason}`;
    if (ledger.entries.length <= ledgerSequence)
      return `privacy ledger: ${hospitalId}'s published ledger has ${ledger.entries.length} entries, the update names entry ${ledgerSequence}`;
    if (!chargedFor(ledger.entries, event.runId, `train:${event.round}`, ledgerSequence))
      return `privacy ledger: ${hospitalId}'s ledger charges no training for round ${event.round} of run ${event.runId}`;
    return null;
  }

  /** Null when the update is signed by the hospital's enrolled key; otherwise why not. */
  private async checkSignature(event: EventOf<'update.submitted'>, blob: Uint8Array): Promise<string | null> {
    const { data } = event;
    const enrolment = await this.deps.documents.get(paths.hospital(data.hospitalId));
    if (!enrolment)
      return `hospital ${data.hospitalId} is not enrolled: no signing key in hospitals/${data.hospitalId}`;
    const { signingPublicKey, enabled } = HospitalEnrolmentSchema.parse(enrolment);
    if (!enabled) return `hospital ${data.hospitalId} is disabled in hospitals/${data.hospitalId}`;
    const check = verifyUpdateSignature(
      {
        runId: event.runId,
        round: event.round,
        hospitalId: data.hospitalId,
        baseModelVersionId: data.baseModelVersionId,
        numExamples: data.numExamples,
        blob,
      },
      data.signature,
      new Map([[data.hospitalId, signingPublicKey]]),
    );
    return check.ok ? null : `bad signature: ${check.reason}`;
  }

  /**
   * Closes the round when every expected hospital has answered, or at the deadline: aggregate if
   * the quorum of accepted updates is met, otherwise fail (the model is unchanged and nothing is
   * charged to the privacy budget).
   */
  async tryCloseRound(
    runId: string,
    round: number,
    deadlineSignalled: boolean,
    signalledDeadline?: string,
  ): Promise<void> {
    const roundDoc = await this.getRound(runId, round);
    if (!roundDoc || roundDoc.status === 'closed' || roundDoc.status === 'failed') return;
    // One receipt per hospital: fewer receipts than expected hospitals before the deadline means
    // nothing to do, known from a count instead of reading every receipt on every update (O(K²)).
    if (
      roundDoc.status === 'open' &&
      !deadlineSignalled &&
      this.deps.clock.now() < new Date(roundDoc.deadline) &&
      (await this.deps.documents.count(paths.updates(runId, round))) < roundDoc.expectedHospitals.length
    )
      return;
    const receipts = (await this.deps.documents.list(paths.updates(runId, round))).map((s) =>
      UpdateReceiptSchema.parse(s.data),
    );
    // Once a masked round has declared dropouts, their updates never count (survivors revealed seeds for them).
    const accepted = receipts.filter(
      (r) => r.status === 'accepted' && !roundDoc.droppedHospitals.includes(r.hospitalId),
    );
    if (roundDoc.status === 'awaiting-seeds') {
      const ready = await this.seedsReady(roundDoc, accepted, signalledDeadline);
      if (!ready) return;
      const lease = await this.takeLease(runId, round);
      if (lease !== null) await this.aggregateRound(roundDoc, accepted, lease);
      return;
    }
    const answered = new Set(receipts.map((r) => r.hospitalId));
    const everyoneAnswered = roundDoc.expectedHospitals.every((h) => answered.has(h));
    const deadlinePassed = deadlineSignalled || this.deps.clock.now() >= new Date(roundDoc.deadline);
    if (!everyoneAnswered && !deadlinePassed) return;

    if (accepted.length < roundDoc.quorum) {
      const reason = `${accepted.length} accepted update(s), quorum is ${roundDoc.quorum}${everyoneAnswered ? '' : ' (deadline passed)'}`;
      await this.failRound(
        runId,
        round,
        reason,
        accepted.map((r) => r.hospitalId),
      );
      return;
    }
    // Double masking: every masked round needs the survivors' reveal (their self-masks), not only
    // one that lost participants.
    if (roundDoc.status === 'open' && roundDoc.masking !== null) {
      const delivered = new Set(accepted.map((r) => r.hospitalId));
      await this.awaitSeeds(
        roundDoc,
        roundDoc.masking.participants.filter((h) => !delivered.has(h)),
      );
      return;
    }
    const lease = await this.takeLease(runId, round);
    if (lease === null) return;
    await this.aggregateRound(roundDoc, accepted, lease);
  }

  /**
   * A masked round's updates are in (or its deadline passed): the round commits to who arrived
   * and who dropped (so a late update from a dropout is stale, never accepted) and waits for the
   * survivors' reveal — self-mask shares of the arrived, shares or pair seeds for the dropped (the
   * workflow runs the survivors' jobs in `reveal` mode).
   */
  private async awaitSeeds(roundDoc: RoundDocument, dropped: string[]): Promise<void> {
    const { runId, round } = roundDoc;
    // Strictly after the round's deadline, so a round.deadline naming one can never be read as the other.
    const from = Math.max(this.deps.clock.now().getTime(), new Date(roundDoc.deadline).getTime());
    const seedsDeadline = new Date(from + (await this.deadlineSeconds(runId)) * 1000);
    const moved = await this.deps.documents.runTransaction(async (tx) => {
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
    logs.roundAwaitingSeeds(this.deps.logger, runId, round, dropped);
    await this.audit(
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
   * True when every survivor has revealed, or, at the seeds deadline (signalled with that
   * deadline, or passed on the clock), when at least t have (t-of-n shares). Fewer at the deadline
   * fails the round: its sum cannot be unmasked.
   */
  private async seedsReady(
    roundDoc: RoundDocument,
    accepted: UpdateReceipt[],
    signalledDeadline: string | undefined,
  ): Promise<boolean> {
    const { runId, round } = roundDoc;
    const revealed = await revealedSurvivors(this.deps.documents, roundDoc);
    const missing = accepted.map((r) => r.hospitalId).filter((h) => !revealed.has(h));
    if (missing.length === 0) return true;
    const seedsDeadline = roundDoc.seedsDeadline;
    const over =
      seedsDeadline !== null &&
      (signalledDeadline === seedsDeadline || this.deps.clock.now() >= new Date(seedsDeadline));
    // t-of-n: at the deadline t reveals may be enough (the unmasking says if they are not).
    if (over && accepted.length - missing.length >= roundDoc.masking!.threshold) return true;
    if (over) {
      await this.failRound(
        runId,
        round,
        `secure aggregation: ${missing.join(', ')} did not reveal their shares, and the ${accepted.length - missing.length} that did are fewer than the threshold ${roundDoc.masking!.threshold}; the sum cannot be unmasked`,
        accepted.map((r) => r.hospitalId),
      );
    }
    return false;
  }

  private async deadlineSeconds(runId: string): Promise<number> {
    return (await this.getRun(runId))?.config.deadlineSeconds ?? 600;
  }

  /** Takes the round's lease; false when the round is already finished; throws while another holds it. */
  /**
   * Takes the round's lease and returns its token; null when the round is already finished; throws
   * RetryLaterError while any unexpired lease is held — also one held by this instance, since two
   * deliveries (the last update and the deadline) can reach one instance at the same moment, and
   * aggregating twice would draw two different noises for one model version.
   */
  private async takeLease(runId: string, round: number): Promise<string | null> {
    const now = this.deps.clock.now();
    const expiresAt = new Date(now.getTime() + (this.deps.leaseSeconds ?? 120) * 1000).toISOString();
    const token = `${this.deps.instanceId}/${randomUUID().slice(0, 8)}`;
    const outcome = await this.deps.documents.runTransaction(async (tx) => {
      const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
      if (current.status === 'closed' || current.status === 'failed') return 'finished' as const;
      const held =
        current.status === 'aggregating' && current.lease !== null && new Date(current.lease.expiresAt) > now;
      if (held) return current.lease!.owner;
      tx.update(paths.round(runId, round), { status: 'aggregating', lease: { owner: token, expiresAt } });
      return 'taken' as const;
    });
    if (outcome === 'finished') return null;
    if (outcome !== 'taken') {
      logs.leaseBusy(this.deps.logger, runId, round, outcome);
      throw new RetryLaterError(`round ${round} of run ${runId} is being aggregated by ${outcome}`);
    }
    return token;
  }

  private async aggregateRound(
    roundDoc: RoundDocument,
    accepted: UpdateReceipt[],
    lease: string,
  ): Promise<void> {
    const { runId, round } = roundDoc;
    const run = (await this.getRun(runId))!;
    const config = run.config;
    const participants = accepted.map((r) => r.hospitalId).sort();
    const versionId = modelVersionId(runId, round);
    const samplingProbability = Math.min(1, roundDoc.expectedHospitals.length / run.hospitals.length);
    const ledger = [
      ...run.ledger,
      roundPrivacyEvent(config, roundDoc.expectedHospitals.length, run.hospitals.length),
    ];
    const guarantee = hospitalLevelGuarantee(config, ledger, samplingProbability);
    // Each participant's patient-level guarantee, recomputed from its published, verified ledger.
    const patient = await this.patientPrivacyOf(run, participants);
    if (!patient.ok) {
      await this.failRound(runId, round, patient.reason, participants);
      return;
    }
    const worst = worstPatientGuarantee(
      patient.hospitals,
      (h) =>
        patient.ledgers
          .find((l) => l.hospitalId === h)
          ?.entries.find((e) => e.entry.runId === runId && e.entry.kind === 'reservation')
          ?.entry.mechanisms.find((m) => m.mechanism === 'dp-sgd'),
      config.exampleClipNorm,
    );
    const guarantees = worst ? [guarantee, worst] : [guarantee];

    // Check ahead, not after: refuse to publish a version that would exceed the budget.
    if (
      config.epsilonBudget !== null &&
      (guarantee.epsilon === null || guarantee.epsilon > config.epsilonBudget)
    ) {
      const reason = `privacy budget: this round would bring hospital-level ε to ${guarantee.epsilon?.toFixed(3) ?? '∞'} > budget ${config.epsilonBudget}`;
      await this.failRound(runId, round, reason, participants);
      await this.haltRun(runId, reason, guarantee.epsilon);
      return;
    }

    let version = await this.deps.models.get(versionId);
    try {
      version ??= await this.computeVersion(run, roundDoc, accepted, versionId, guarantees, patient);
    } catch (error) {
      // Inconsistent seeds or masked updates cannot be retried into consistency: fail the round.
      if (!(error instanceof SecureAggregationError)) throw error;
      await this.audit(runId, round, 'secure-aggregation.unmask', null, 'rejected', error.message);
      await this.failRound(runId, round, `secure aggregation: ${error.message}`, participants);
      return;
    }

    // The base version's pooled metrics with every evaluation its round's updates carried (between
    // refreshes, recordEvaluation pools on a doubling schedule).
    await this.refreshPooledMetrics(runId, roundDoc.baseModelVersionId);

    // Audited before the round closes (ids from the facts, so a retry writes each once): the version
    // exists now, and it is the one this round publishes whoever holds the lease.
    await this.auditPublication(runId, round, versionId, version.privacy);

    const closedAt = this.deps.clock.now().toISOString();
    const closedNow = await this.deps.documents.runTransaction(async (tx) => {
      const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
      const currentRun = RunDocumentSchema.parse(await tx.get(paths.run(runId)));
      if (current.status !== 'aggregating' || current.lease?.owner !== lease) return false;
      tx.update(paths.round(runId, round), {
        status: 'closed',
        closedAt,
        modelVersionId: versionId,
        participants,
        lease: null,
      });
      tx.update(paths.run(runId), {
        currentRound: Math.max(currentRun.currentRound, round),
        latestModelVersionId: versionId,
        ledger,
        privacy: guarantees,
        updatedAt: closedAt,
      });
      return true;
    });
    if (!closedNow) return;
    const durationSeconds = (new Date(closedAt).getTime() - new Date(roundDoc.openedAt).getTime()) / 1000;
    logs.roundClosed(this.deps.logger, runId, round, participants.length, guarantee.epsilon, durationSeconds);
    const time = this.deps.clock.now();
    await publishEvent(
      this.deps.events,
      makeEvent('round.closed', {
        id: `round.closed:${runId}:${round}`,
        runId,
        round,
        time,
        data: { modelVersionId: versionId, participants },
      }),
    );
    await publishEvent(
      this.deps.events,
      makeEvent('model.published', {
        id: `model.published:${versionId}`,
        runId,
        round,
        time,
        data: {
          modelVersionId: versionId,
          parentVersionId: version.parentVersionId,
          artifactPath: version.artifactPath,
          sha256: version.sha256,
          participants,
          privacy: version.privacy,
        },
      }),
    );
  }

  /** Verified ledgers and patient-level guarantees of the participants; a ledger that fails fails the round. */
  private async patientPrivacyOf(
    run: RunDocument,
    participants: string[],
  ): Promise<
    { ok: true; hospitals: HospitalPrivacy[]; ledgers: LedgerExcerpt[] } | { ok: false; reason: string }
  > {
    const hospitals: HospitalPrivacy[] = [];
    const ledgers: LedgerExcerpt[] = [];
    for (const hospitalId of participants) {
      const ledger = await readPublishedLedger(this.deps, hospitalId);
      if (!ledger.ok) return { ok: false, reason: `privacy ledger: ${ledger.reason}` };
      ledgers.push(excerptOf(ledger));
      hospitals.push(
        hospitalPrivacy(ledger.entries, run.runId, {
          delta: run.config.delta,
          budgetEpsilon: run.config.patientBudgetEpsilon,
        }),
      );
    }
    return { ok: true, hospitals, ledgers };
  }

  private async computeVersion(
    run: RunDocument,
    roundDoc: RoundDocument,
    accepted: UpdateReceipt[],
    versionId: string,
    guarantees: ModelVersionDocument['privacy'],
    patient: { hospitals: HospitalPrivacy[]; ledgers: LedgerExcerpt[] },
  ): Promise<ModelVersionDocument> {
    const { runId, round } = roundDoc;
    const base = await this.deps.models.load(roundDoc.baseModelVersionId);
    const global = weightsFromBytes(base.artifacts.weights);
    const state = await loadStrategyState(this.deps.blobs, runId, round - 1);
    const context = {
      round,
      expectedHospitals: roundDoc.expectedHospitals.length,
      enrolledHospitals: run.hospitals.length,
      random: this.deps.random,
    };
    let result;
    if (roundDoc.masking !== null) {
      // Only the sum is ever unmasked: no individual update exists here in the clear.
      const clippedSum = await unmaskedClippedSum(this.deps, roundDoc, accepted, global.length);
      result = buildDpFedAvg(run.config).aggregateClippedSum(global, clippedSum, state, context);
    } else {
      const updates = [];
      for (const receipt of accepted) {
        const { values } = decodeUpdate(await this.deps.blobs.get(receipt.blobPath));
        updates.push({
          hospitalId: receipt.hospitalId,
          delta: values as Float32Array,
          numExamples: receipt.numExamples,
        });
      }
      result = buildStrategy(run.config).aggregate(global, updates, state, context);
    }
    await saveStrategyState(this.deps.blobs, runId, round, result.state);
    const weights = bytesFromWeights(result.weights);
    const doc: ModelVersionDocument = {
      ...base.doc,
      versionId,
      runId,
      round,
      parentVersionId: base.doc.versionId,
      createdAt: this.deps.clock.now().toISOString(),
      artifactPath: blobPaths.modelPrefix(versionId),
      sha256: createHash('sha256').update(weights).digest('hex'),
      participants: accepted.map((r) => r.hospitalId).sort(),
      privacy: guarantees,
      hospitalPrivacy: patient.hospitals,
      pooled: null,
      halted: false,
    };
    const modelJson = withVersionMetadata(base.artifacts.modelJson, doc, patient.ledgers);
    return (await this.deps.models.register(doc, { modelJson, weights })).doc;
  }

  private async failRound(runId: string, round: number, reason: string, received: string[]): Promise<void> {
    const failed = await this.deps.documents.runTransaction(async (tx) => {
      const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
      const run = RunDocumentSchema.parse(await tx.get(paths.run(runId)));
      if (current.status === 'closed' || current.status === 'failed') return false;
      const now = this.deps.clock.now().toISOString();
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
    logs.roundFailed(this.deps.logger, runId, round, reason);
    await publishEvent(
      this.deps.events,
      makeEvent('round.failed', {
        id: `round.failed:${runId}:${round}`,
        runId,
        round,
        time: this.deps.clock.now(),
        data: { reason, received },
      }),
    );
  }

  /** The audit trail of a publication: the noise each unit's guarantee rests on, then the version. */
  private async auditPublication(
    runId: string,
    round: number,
    versionId: string,
    privacy: readonly PrivacyGuarantee[],
  ): Promise<void> {
    for (const g of privacy) {
      if (g.noiseMultiplier === 0) continue;
      const where = g.unit === 'hospital' ? 'DP-FedAvg in the aggregator' : 'DP-SGD in the hospitals';
      await this.audit(
        runId,
        round,
        'noise.added',
        versionId,
        'info',
        `${where}: Gaussian noise multiplier ${g.noiseMultiplier} on clip norm ${g.clipNorm} (${g.unit} level)`,
      );
    }
    await this.audit(
      runId,
      round,
      'model.published',
      versionId,
      'info',
      privacy.map((g) => describeGuarantee(g)).join('; '),
    );
  }

  private async storedReceipt(receiptPath: string, fallback: UpdateReceipt): Promise<UpdateReceipt> {
    const parsed = UpdateReceiptSchema.safeParse(await this.deps.documents.get(receiptPath));
    return parsed.success ? parsed.data : fallback;
  }

  private async haltRun(runId: string, reason: string, epsilon: number | null): Promise<void> {
    const now = this.deps.clock.now();
    await this.audit(runId, null, 'run.halted', runId, 'info', reason);
    await this.deps.documents.update(paths.run(runId), {
      halt: { reason, by: 'aggregator', at: now.toISOString() },
      updatedAt: now.toISOString(),
    });
    logs.runHalted(this.deps.logger, runId, reason);
    const run = await this.getRun(runId);
    await publishEvent(
      this.deps.events,
      makeEvent('privacy.alert', {
        id: `privacy.alert:halt:${runId}`,
        runId,
        round: run?.currentRound ?? 0,
        time: now,
        data: {
          level: 'halt',
          unit: 'hospital',
          epsilon,
          budgetEpsilon: run?.config.epsilonBudget ?? null,
          message: reason,
        },
      }),
    );
  }

  /**
   * Stores a hospital's evaluation of a model version and refreshes the version's pooled metrics.
   * A malformed evaluation, or one whose histogram cannot be pooled with the others, is audited and
   * dropped before it is stored: one bad message must not block every later evaluation.
   */
  async recordEvaluation(evaluation: unknown): Promise<void> {
    const parsed = HospitalEvaluationSchema.safeParse(evaluation);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await this.audit(
        null,
        null,
        'evaluation.reported',
        null,
        'rejected',
        `malformed evaluation at '${issue.path.join('.')}': ${issue.message}`,
      );
      return;
    }
    const report = parsed.data;
    const version = await this.deps.models.get(report.modelVersionId);
    if (!version) {
      await this.audit(
        null,
        null,
        'evaluation.reported',
        report.hospitalId,
        'rejected',
        `unknown model version ${report.modelVersionId}`,
      );
      return;
    }
    const run = await this.getRun(version.runId);
    if (!run?.hospitals.includes(report.hospitalId)) {
      await this.audit(
        version.runId,
        version.round,
        'evaluation.reported',
        report.hospitalId,
        'rejected',
        `hospital ${report.hospitalId} is not in run ${version.runId}`,
      );
      return;
    }
    if (!sameCuts(report.histogram.cuts, EVALUATION_RISK_CUTS)) {
      const reason = `histogram cuts [${report.histogram.cuts.join(', ')}] are not the public evaluation cuts [${EVALUATION_RISK_CUTS.join(', ')}]: finer bins would leak, other bins cannot be pooled`;
      await this.audit(
        version.runId,
        version.round,
        'evaluation.reported',
        report.hospitalId,
        'rejected',
        reason,
      );
      return;
    }
    await this.deps.documents.create(paths.evaluation(report.modelVersionId, report.hospitalId), report);
    // Pooling re-reads every evaluation of the version; doing it on each one is O(K²) for K
    // hospitals. Refresh at 1, 2, 4, 8, ... evaluations and when all hospitals have reported (the
    // base version is refreshed once more when its round closes): O(K log K) reads in all.
    const stored = await this.deps.documents.count(paths.evaluations(report.modelVersionId));
    if (stored >= run.hospitals.length || (stored & (stored - 1)) === 0)
      await this.refreshPooledMetrics(version.runId, report.modelVersionId);
  }

  /**
   * Recomputes a version's pooled metrics from every hospital's stored evaluation inside one
   * transaction: evaluations of one version arrive concurrently, and a recompute from a list read
   * outside the transaction could be written last while missing the newest evaluation.
   */
  private async refreshPooledMetrics(runId: string, versionId: string): Promise<void> {
    const run = await this.getRun(runId);
    if (!run) return;
    await this.deps.documents.runTransaction(async (tx) => {
      const evaluations = [];
      for (const hospitalId of run.hospitals) {
        const data = await tx.get(paths.evaluation(versionId, hospitalId));
        if (data) evaluations.push(HospitalEvaluationSchema.parse(data));
      }
      if (evaluations.length === 0) return;
      tx.update(paths.model(versionId), { pooled: pooledQuality(versionId, evaluations) });
    });
  }

  private getRun(runId: string): Promise<RunDocument | undefined> {
    return readRun(this.deps.documents, runId);
  }

  private getRound(runId: string, round: number): Promise<RoundDocument | undefined> {
    return readRound(this.deps.documents, runId, round);
  }

  private audit(
    runId: string | null,
    round: number | null,
    action: string,
    subject: string | null,
    outcome: 'accepted' | 'rejected' | 'info',
    reason: string | null,
  ): Promise<void> {
    return recordAudit(
      this.deps.documents,
      { runId, round, actor: 'aggregator', action, outcome, reason, subject },
      this.deps.clock.now(),
    );
  }
}

/** model.json carries the version's identity and guarantee so a copied folder still says what it is. */
function withVersionMetadata(
  modelJson: Record<string, unknown>,
  doc: ModelVersionDocument,
  ledgers: LedgerExcerpt[],
): Record<string, unknown> {
  const metadata = (modelJson.userDefinedMetadata ?? {}) as Record<string, unknown>;
  const himas = (metadata.himas ?? {}) as Record<string, unknown>;
  return {
    ...modelJson,
    userDefinedMetadata: {
      ...metadata,
      // The guarantee travels with the signed ledger entries behind it, so `himas privacy verify`
      // can recompute it from the model folder alone.
      himas: {
        ...himas,
        versionId: doc.versionId,
        runId: doc.runId,
        round: doc.round,
        privacy: doc.privacy,
        hospitalPrivacy: doc.hospitalPrivacy,
        privacyLedgers: ledgers,
      },
    },
  };
}
