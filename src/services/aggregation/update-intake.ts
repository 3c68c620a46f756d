import {
  blobPaths,
  paths,
  UpdateReceiptSchema,
  type HospitalEnrolment,
  type RoundDocument,
  type RunDocument,
  type UpdateReceipt,
} from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import { decodeUpdate, UpdateFormatError } from '../../core/codec/update-codec';
import { logs } from '../../logs';
import { verifySender } from '../enrolled-keys';
import { checkMasking } from '../masked-aggregation';
import { chargedFor, readPublishedLedger } from '../published-ledgers';
import { RetryLaterError, type AggregatorContext } from './aggregator-context';
import { recordEvaluation } from './evaluation-intake';
import { tryCloseRound } from './round-state';
import { authenticateUpdate } from './update-authenticity';

/**
 * Intake of `update.submitted`: verify first, record after. Nothing is written for a message that
 * does not verify — a bad envelope signature, an unknown or revoked sender, a missing blob, a blob
 * whose hash or update signature does not match — beyond an audit record: the message is
 * acknowledged and the genuine hospital can still submit (finding: a junk event used to leave a
 * `rejected` receipt that locked the real one out, and its unsigned base evaluation was stored).
 *
 * An authenticated update gets one receipt, created once (the first one wins; a second, different
 * update from the same hospital is a duplicate). An accepted update's blob is copied to the
 * aggregator's own, content-addressed path first, so the hospital (which may overwrite its upload
 * path) cannot change what was accepted.
 */
export async function receiveUpdate(
  ctx: AggregatorContext,
  event: EventOf<'update.submitted'>,
): Promise<void> {
  const { runId, round } = event;
  const { hospitalId } = event.data;
  const { deps } = ctx;
  const receivedAt = deps.clock.now();
  const refuse = async (reason: string, unverified: boolean) => {
    if (unverified) logs.unverifiedMessage(deps.logger, event.type, hospitalId, reason);
    else logs.updateRejected(deps.logger, runId, round, hospitalId, reason);
    await ctx.audit(runId, round, 'update.submitted', hospitalId, 'rejected', reason);
  };

  const sender = await verifySender(deps.documents, event, receivedAt);
  if (!sender.ok) return refuse(sender.reason, true);

  const receiptPath = paths.update(runId, round, hospitalId);
  const existing = UpdateReceiptSchema.safeParse(await deps.documents.get(receiptPath));
  const place = await roundFor(ctx, event, existing.success);
  if (!place.ok) return refuse(place.reason, false);

  if (existing.success) {
    // A redelivery, or a second update from the same hospital: the first receipt stands.
    logs.updateDuplicate(deps.logger, runId, round, hospitalId);
    await finishIntake(ctx, event, existing.data);
    return;
  }

  const authentic = await authenticateUpdate(
    deps,
    { runId, round, ...event.data },
    event.data.blobPath,
    receivedAt,
    sender.enrolment,
  );
  if (!authentic.ok) return refuse(authentic.reason, true);

  const verdict = await checkContent(ctx, event, place.run, place.round, authentic.bytes, sender.enrolment);
  let blobPath = event.data.blobPath;
  if (verdict.reason === null) {
    blobPath = blobPaths.acceptedUpdate(runId, round, hospitalId, event.data.sha256);
    await deps.blobs.create(blobPath, authentic.bytes, { contentType: 'application/octet-stream' });
  }
  const receipt: UpdateReceipt = {
    hospitalId,
    eventId: event.id,
    status: verdict.reason === null ? 'accepted' : 'rejected',
    reason: verdict.reason,
    blobPath,
    sha256: event.data.sha256,
    numExamples: event.data.numExamples,
    norm: verdict.norm,
    trainLoss: event.data.trainLoss,
    receivedAt: receivedAt.toISOString(),
    ledgerSequence: event.data.ledgerSequence,
    signature: event.data.signature,
    baseModelVersionId: event.data.baseModelVersionId,
  };
  const created = await deps.documents.create(receiptPath, receipt);
  const stored = created
    ? receipt
    : (UpdateReceiptSchema.safeParse(await deps.documents.get(receiptPath)).data ?? receipt);
  if (!created) logs.updateDuplicate(deps.logger, runId, round, hospitalId);
  else if (receipt.status === 'accepted')
    logs.updateAccepted(deps.logger, runId, round, hospitalId, verdict.norm);
  else logs.updateRejected(deps.logger, runId, round, hospitalId, receipt.reason ?? '');
  await finishIntake(ctx, event, stored);
}

/**
 * On every delivery of a verified update, duplicates too (each step is idempotent, so a crash
 * after the receipt loses nothing): the audit, the base evaluation it carries (signed with the
 * envelope, and only as the sender's own), and an attempt to close the round.
 */
async function finishIntake(
  ctx: AggregatorContext,
  event: EventOf<'update.submitted'>,
  stored: UpdateReceipt,
): Promise<void> {
  const { runId, round } = event;
  const hospitalId = event.data.hospitalId;
  await ctx.audit(runId, round, 'update.submitted', hospitalId, stored.status, stored.reason);
  const evaluation = event.data.baseEvaluation;
  if (evaluation !== null) {
    if (evaluation.hospitalId !== hospitalId)
      await ctx.audit(
        runId,
        round,
        'evaluation.reported',
        hospitalId,
        'rejected',
        `${hospitalId} sent a base evaluation in ${evaluation.hospitalId}'s name`,
      );
    else await recordEvaluation(ctx, evaluation);
  }
  await tryCloseRound(ctx, runId, round, false);
}

type Placement = { ok: true; run: RunDocument; round: RoundDocument } | { ok: false; reason: string };

/** The open round the update belongs to (or the round of its earlier receipt). */
async function roundFor(
  ctx: AggregatorContext,
  event: EventOf<'update.submitted'>,
  hasReceipt: boolean,
): Promise<Placement> {
  const { runId, round } = event;
  const run = await ctx.getRun(runId);
  if (!run) return { ok: false, reason: `unknown run ${runId}` };
  const roundDoc = await ctx.getRound(runId, round);
  if (!roundDoc) return { ok: false, reason: `round ${round} of run ${runId} was never opened` };
  if (roundDoc.status !== 'open' && !hasReceipt)
    return { ok: false, reason: `stale update: round ${round} is already ${roundDoc.status}` };
  return { ok: true, run, round: roundDoc };
}

/** Checks of an authenticated update against its round; `reason` null means accepted. */
async function checkContent(
  ctx: AggregatorContext,
  event: EventOf<'update.submitted'>,
  run: RunDocument,
  roundDoc: RoundDocument,
  bytes: Uint8Array,
  enrolment: HospitalEnrolment,
): Promise<{ reason: string | null; norm: number | null }> {
  const { round, data } = event;
  const reject = (reason: string) => ({ reason, norm: null });
  if (!roundDoc.expectedHospitals.includes(data.hospitalId))
    return reject(`hospital ${data.hospitalId} is not expected in round ${round}`);
  if (data.baseModelVersionId !== roundDoc.baseModelVersionId)
    return reject(
      `update was trained from ${data.baseModelVersionId}, the round started from ${roundDoc.baseModelVersionId}`,
    );
  const declared = run.declaredTrainStays[data.hospitalId];
  if (data.numExamples !== declared)
    return reject(
      `update weight ${data.numExamples} is not ${data.hospitalId}'s declared cohort size ${declared ?? '(none)'}: a weight from the records would leak the cohort size`,
    );
  const ledgerProblem = await checkLedgerCharge(ctx, event);
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
  if (roundDoc.masking !== null && enrolment.maskingPublicKey === undefined)
    return reject(`hospital ${data.hospitalId} has no enrolled masking key`);
  const base = await ctx.deps.models.get(roundDoc.baseModelVersionId);
  if (!base) throw new RetryLaterError(`base model ${roundDoc.baseModelVersionId} not found yet`);
  if (decoded.values.length !== base.numParameters)
    return reject(`update has ${decoded.values.length} parameters, the model has ${base.numParameters}`);
  // A masked update is uniform noise to us: its norm cannot be checked. Clipping is enforced at
  // the source (the hospital clips before encoding; the fixed-point encoder refuses |v| > C).
  if (decoded.encoding === 'int32') return { reason: null, norm: null };
  const values = decoded.values as Float32Array;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) return reject(`update value ${i} is ${v}`);
    sumSquares += v * v;
  }
  const norm = Math.sqrt(sumSquares);
  if (run.config.aggregation === 'dp-fedavg' && norm > run.config.clipNorm * (1 + 1e-4))
    return reject(`update norm ${norm.toFixed(4)} exceeds the clip norm ${run.config.clipNorm}`);
  return { reason: null, norm };
}

/**
 * Null when the hospital's published ledger verifies and charges this round's training at or
 * before the entry the update names: no update is accepted that its patients did not pay for.
 */
async function checkLedgerCharge(
  ctx: AggregatorContext,
  event: EventOf<'update.submitted'>,
): Promise<string | null> {
  const { hospitalId, ledgerSequence } = event.data;
  const ledger = await readPublishedLedger(ctx.deps, hospitalId);
  if (!ledger.ok) return `privacy ledger: ${ledger.reason}`;
  if (ledger.entries.length <= ledgerSequence)
    return `privacy ledger: ${hospitalId}'s published ledger has ${ledger.entries.length} entries, the update names entry ${ledgerSequence}`;
  if (!chargedFor(ledger.entries, event.runId, `train:${event.round}`, ledgerSequence))
    return `privacy ledger: ${hospitalId}'s ledger charges no training for round ${event.round} of run ${event.runId}`;
  return null;
}
