import { createHash } from 'node:crypto';
import {
  blobPaths,
  modelVersionId,
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  type ModelVersionDocument,
  type RoundDocument,
  type RunDocument,
  type UpdateReceipt,
} from '../../../schemas/documents';
import type { HospitalPrivacy, PrivacyGuarantee } from '../../../schemas/privacy';
import type { LedgerExcerpt } from '../../../schemas/privacy-ledger';
import { decodeUpdate, decodeUpdateInto } from '../../core/codec/update-codec';
import { KernelMemory } from '../../core/kernels/aggregation-kernels';
import type { ClippedSum } from '../../core/federated';
import { SecureAggregationError } from '../../core/secure-aggregation';
import { logs } from '../../logs';
import { makeEvent, publishEvent } from '../event-publishing';
import { unmaskedClippedSum } from '../masked-aggregation';
import { hospitalPrivacy, worstPatientGuarantee } from '../patient-privacy';
import { describeGuarantee, hospitalLevelGuarantee, roundPrivacyEvent } from '../privacy-guarantee';
import { excerptOf, readPublishedLedger } from '../published-ledgers';
import { buildDpFedAvg, buildStrategy, loadStrategyState, saveStrategyState } from '../strategy-from-config';
import { bytesFromWeights, weightsFromBytes } from '../weights-bytes';
import type { AggregatorContext } from './aggregator-context';
import { refreshPooledMetrics } from './evaluation-intake';
import { verifyIncludedUpdates, type VerifiedUpdate } from './included-updates';
import { failRound } from './round-failure';
import type { RoundLease } from './round-lease';

/**
 * Aggregation of a round the state machine closed, under its lease: re-verify every included
 * update, check the privacy budget ahead, compute the model version (unmask the sum or FedAvg the
 * plain updates, DP-FedAvg noise, the strategy's step), publish it and close the round. A version
 * that already exists (an earlier holder of the lease crashed after registering it) is reused,
 * never recomputed with new noise.
 */
export async function aggregateRound(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
  accepted: UpdateReceipt[],
  lease: RoundLease,
): Promise<void> {
  const { deps } = ctx;
  const { runId, round } = roundDoc;
  const run = (await ctx.getRun(runId))!;
  const config = run.config;

  const { verified, refused } = await verifyIncludedUpdates(ctx, roundDoc, accepted);
  for (const { hospitalId, reason } of refused)
    await ctx.audit(runId, round, 'update.reverified', hospitalId, 'rejected', `not counted: ${reason}`);
  const participants = verified.map((u) => u.receipt.hospitalId).sort();
  if (refused.length > 0 && roundDoc.masking !== null) {
    const who = refused.map((r) => r.hospitalId).join(', ');
    await failRound(
      ctx,
      runId,
      round,
      `secure aggregation: the masked update of ${who} does not verify at the close; without it the masks do not cancel`,
      participants,
    );
    return;
  }
  if (verified.length < roundDoc.quorum) {
    await failRound(
      ctx,
      runId,
      round,
      `${verified.length} update(s) verify at the close, quorum is ${roundDoc.quorum}`,
      participants,
    );
    return;
  }

  const versionId = modelVersionId(runId, round);
  const samplingProbability = Math.min(1, roundDoc.expectedHospitals.length / run.hospitals.length);
  const ledger = [
    ...run.ledger,
    roundPrivacyEvent(config, roundDoc.expectedHospitals.length, run.hospitals.length),
  ];
  const guarantee = hospitalLevelGuarantee(config, ledger, samplingProbability);
  // Each participant's patient-level guarantee, recomputed from its published, verified ledger.
  const patient = await patientPrivacyOf(ctx, run, participants);
  if (!patient.ok) {
    await failRound(ctx, runId, round, patient.reason, participants);
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
    await failRound(ctx, runId, round, reason, participants);
    await haltRun(ctx, runId, reason, guarantee.epsilon);
    return;
  }

  let version = await deps.models.get(versionId);
  try {
    version ??= await computeVersion(ctx, run, roundDoc, verified, versionId, guarantees, patient, lease);
  } catch (error) {
    // Inconsistent seeds or masked updates cannot be retried into consistency: fail the round.
    // SumOutOfBoundsError (‖Σ‖ > K·C after unmasking) is one of them, audited like the rest.
    if (!(error instanceof SecureAggregationError)) throw error;
    await ctx.audit(runId, round, 'secure-aggregation.unmask', null, 'rejected', error.message);
    await failRound(ctx, runId, round, `secure aggregation: ${error.message}`, participants);
    return;
  }

  // The base version's pooled metrics with every evaluation its round's updates carried (between
  // refreshes, recordEvaluation pools on a doubling schedule).
  await refreshPooledMetrics(ctx, runId, roundDoc.baseModelVersionId);

  // Audited before the round closes (ids from the facts, so a retry writes each once): the version
  // exists now, and it is the one this round publishes whoever holds the lease.
  await auditPublication(ctx, runId, round, versionId, version.privacy);

  const closedAt = deps.clock.now().toISOString();
  const closedNow = await deps.documents.runTransaction(async (tx) => {
    const current = RoundDocumentSchema.parse(await tx.get(paths.round(runId, round)));
    const currentRun = RunDocumentSchema.parse(await tx.get(paths.run(runId)));
    if (current.status !== 'aggregating' || current.lease?.owner !== lease.token) return false;
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
  logs.roundClosed(deps.logger, runId, round, participants.length, guarantee.epsilon, durationSeconds);
  const time = deps.clock.now();
  await publishEvent(
    deps.events,
    makeEvent('round.closed', {
      id: `round.closed:${runId}:${round}`,
      runId,
      round,
      time,
      data: { modelVersionId: versionId, participants },
    }),
  );
  await publishEvent(
    deps.events,
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

/**
 * Σ clip(Δ_k, C) of a masked round, the only place an aggregate of masked updates is unmasked
 * (secure aggregation's call site; no individual update exists here in the clear).
 */
export function sumOfMaskedUpdates(
  ctx: AggregatorContext,
  roundDoc: RoundDocument,
  updates: readonly VerifiedUpdate[],
  length: number,
): Promise<ClippedSum> {
  return unmaskedClippedSum(
    ctx.deps,
    roundDoc,
    updates.map((u) => ({ hospitalId: u.receipt.hospitalId, bytes: u.bytes })),
    length,
  );
}

async function computeVersion(
  ctx: AggregatorContext,
  run: RunDocument,
  roundDoc: RoundDocument,
  updates: readonly VerifiedUpdate[],
  versionId: string,
  guarantees: ModelVersionDocument['privacy'],
  patient: { hospitals: HospitalPrivacy[]; ledgers: LedgerExcerpt[] },
  lease: RoundLease,
): Promise<ModelVersionDocument> {
  const { deps } = ctx;
  const { runId, round } = roundDoc;
  const base = await deps.models.load(roundDoc.baseModelVersionId);
  const global = weightsFromBytes(base.artifacts.weights);
  const state = await loadStrategyState(deps.blobs, runId, round - 1);
  const context = {
    round,
    expectedHospitals: roundDoc.expectedHospitals.length,
    enrolledHospitals: run.hospitals.length,
    random: deps.random,
  };
  let result;
  if (roundDoc.masking !== null) {
    const clippedSum = await sumOfMaskedUpdates(ctx, roundDoc, updates, global.length);
    result = buildDpFedAvg(run.config).aggregateClippedSum(global, clippedSum, state, context);
  } else {
    // Decoded straight into kernel memory (the one copy decoding makes anyway), where the
    // aggregation kernels read up to 8 updates at once in place (src/core/kernels).
    const memory = KernelMemory.create(updates.length * global.length * 4);
    const plain = updates.map(({ receipt, bytes }) => ({
      hospitalId: receipt.hospitalId,
      delta: (memory ? decodeUpdateInto(bytes, memory) : decodeUpdate(bytes)).values as Float32Array,
      numExamples: receipt.numExamples,
    }));
    result = buildStrategy(run.config).aggregate(global, plain, state, context);
  }
  // The fence: the noise is drawn but not yet stored anywhere. A holder that lost its lease (paused
  // past its expiry, taken over) stops here and its noise is never released.
  await lease.confirm();
  await saveStrategyState(deps.blobs, runId, round, result.state);
  const weights = bytesFromWeights(result.weights);
  const doc: ModelVersionDocument = {
    ...base.doc,
    versionId,
    runId,
    round,
    parentVersionId: base.doc.versionId,
    createdAt: deps.clock.now().toISOString(),
    artifactPath: blobPaths.modelPrefix(versionId),
    sha256: createHash('sha256').update(weights).digest('hex'),
    participants: updates.map((u) => u.receipt.hospitalId).sort(),
    privacy: guarantees,
    hospitalPrivacy: patient.hospitals,
    pooled: null,
    halted: false,
  };
  const modelJson = withVersionMetadata(base.artifacts.modelJson, doc, patient.ledgers);
  return (await deps.models.register(doc, { modelJson, weights })).doc;
}

/** Verified ledgers and patient-level guarantees of the participants; a ledger that fails fails the round. */
async function patientPrivacyOf(
  ctx: AggregatorContext,
  run: RunDocument,
  participants: string[],
): Promise<
  { ok: true; hospitals: HospitalPrivacy[]; ledgers: LedgerExcerpt[] } | { ok: false; reason: string }
> {
  const hospitals: HospitalPrivacy[] = [];
  const ledgers: LedgerExcerpt[] = [];
  for (const hospitalId of participants) {
    const ledger = await readPublishedLedger(ctx.deps, hospitalId);
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

/** The audit trail of a publication: the noise each unit's guarantee rests on, then the version. */
async function auditPublication(
  ctx: AggregatorContext,
  runId: string,
  round: number,
  versionId: string,
  privacy: readonly PrivacyGuarantee[],
): Promise<void> {
  for (const g of privacy) {
    if (g.noiseMultiplier === 0) continue;
    const where = g.unit === 'hospital' ? 'DP-FedAvg in the aggregator' : 'DP-SGD in the hospitals';
    await ctx.audit(
      runId,
      round,
      'noise.added',
      versionId,
      'info',
      `${where}: Gaussian noise multiplier ${g.noiseMultiplier} on clip norm ${g.clipNorm} (${g.unit} level)`,
    );
  }
  await ctx.audit(
    runId,
    round,
    'model.published',
    versionId,
    'info',
    privacy.map((g) => describeGuarantee(g)).join('; '),
  );
}

async function haltRun(
  ctx: AggregatorContext,
  runId: string,
  reason: string,
  epsilon: number | null,
): Promise<void> {
  const { deps } = ctx;
  const now = deps.clock.now();
  await ctx.audit(runId, null, 'run.halted', runId, 'info', reason);
  await deps.documents.update(paths.run(runId), {
    halt: { reason, by: 'aggregator', at: now.toISOString() },
    updatedAt: now.toISOString(),
  });
  logs.runHalted(deps.logger, runId, reason);
  const run = await ctx.getRun(runId);
  await publishEvent(
    deps.events,
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
