import { createHash } from 'node:crypto';
import { blobPaths, paths, type RunDocument } from '../../schemas/documents';
import type { HospitalKeyStore } from '../ports/hospital-keys';
import { importPrivateKeyPem } from '../runtime/secure-aggregation-crypto';
import { signUpdate } from '../runtime/update-signing';
import type { JobEnv } from '../config/job-env';
import { encodeUpdate } from '../core/codec/update-codec';
import { computeFeatureStatistics, transformRecords } from '../core/data';
import { clipToNorm, l2Norm } from '../core/federated';
import { getFlatWeights, trainLocally, trainLocallyWithDpSgd } from '../core/model';
import type { PrivacyGuarantee } from '../../schemas/privacy';
import { CryptoRandom } from '../runtime/crypto-random';
import { chargeTrainingAttempt, cohortFingerprint, patientGuarantee } from './patient-privacy';
import { enrol } from './hospital-enrolment';
import { revealSeeds } from './seed-reveal';
import { maskClippedUpdate } from './update-masking';
import { describeAggregates, shareAggregates } from './hospital-aggregates';
import { SeededRandom } from '../core/random/seeded-random';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { PatientLedgerStore } from '../ports/patient-ledger-store';
import type { CohortSource } from '../ports/cohort-source';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { ModelRegistry } from '../ports/model-registry';
import { makeEvent, publishEvent } from './event-publishing';
import { loadHimasModel } from './model-artifacts';
import { hospitalEvaluation } from './model-evaluation';
import { readRound, readRun } from './run-documents';

/** The ports a hospital job uses: no transactions and no subscriptions, so they can be served remotely. */
export interface HospitalJobPorts {
  documents: Pick<DocumentStore, 'get' | 'set' | 'create' | 'update' | 'delete' | 'list'>;
  blobs: BlobStore;
  events: Pick<EventBus, 'publish'>;
  models: ModelRegistry;
}

export interface HospitalJobDeps extends HospitalJobPorts {
  cohorts: CohortSource;
  /** The hospital's own secret store (its signing key); never reachable by the coordinator. */
  keys: HospitalKeyStore;
  /** The hospital's own patient-level privacy ledger, per cohort, kept across runs. */
  ledger: PatientLedgerStore;
  clock: Clock;
  logger: Logger;
}

export type HospitalJobOutcome = { status: 'done' | 'skipped'; detail: string };

/**
 * One hospital's job (jobs/train runs it as a Cloud Run job; locally a child process does). Four
 * modes: `stats` shares federated feature statistics and the DP-noised surveillance and treatment
 * releases (hospital-aggregates.ts) before round 1, `train` trains one round and
 * submits a clipped (and, in a masked round, pairwise-masked) update, `reveal` posts a survivor's
 * pairwise seeds with the hospitals a masked round lost, `evaluate` reports a model version's
 * metrics on the hospital's own test split. Only aggregates and clipped updates leave the
 * hospital. Re-running a job is safe: a hospital that already answered a round does nothing.
 */
export async function runHospitalJob(env: JobEnv, deps: HospitalJobDeps): Promise<HospitalJobOutcome> {
  logs.jobStarted(deps.logger, env.mode, env.runId, env.round ?? null, env.hospitalId);
  const run = await readRun(deps.documents, env.runId);
  if (!run) throw new Error(`run ${env.runId} does not exist`);
  if (!run.hospitals.includes(env.hospitalId))
    throw new Error(`hospital ${env.hospitalId} is not enrolled in run ${env.runId}`);
  if (env.mode === 'stats') return shareStatistics(env, run, deps);
  if (env.mode === 'evaluate') return evaluateVersion(env, deps);
  if (env.mode === 'reveal') return revealSeeds({ ...env, round: env.round! }, deps);
  return trainRound(env, run, deps);
}

async function shareStatistics(
  env: JobEnv,
  run: RunDocument,
  deps: HospitalJobDeps,
): Promise<HospitalJobOutcome> {
  await enrol(env.hospitalId, deps);
  // Before the receipt check: a job that crashed after the receipt still sends its releases (a
  // re-run re-sends the stored noisy numbers, never new ones).
  const aggregates = await shareAggregates(env.runId, env.hospitalId, run, {
    ...deps,
    random: new CryptoRandom(),
  });
  logs.aggregatesShared(deps.logger, env.runId, env.hospitalId, describeAggregates(aggregates));
  const receiptPath = paths.statisticsReceipt(env.runId, env.hospitalId);
  if (await deps.documents.get(receiptPath)) return skip(deps, env, 'statistics already shared');
  const train = await deps.cohorts.read(env.hospitalId, 'train');
  const statistics = computeFeatureStatistics(train);
  const info = await deps.blobs.put(
    blobPaths.statistics(env.runId, env.hospitalId),
    Buffer.from(JSON.stringify(statistics)),
    {
      contentType: 'application/json',
    },
  );
  await deps.documents.create(receiptPath, {
    hospitalId: env.hospitalId,
    blobPath: info.path,
    sha256: info.sha256,
    rows: train.length,
    receivedAt: deps.clock.now().toISOString(),
  });
  return { status: 'done', detail: `statistics of ${train.length} stays shared` };
}

async function evaluateVersion(env: JobEnv, deps: HospitalJobDeps): Promise<HospitalJobOutcome> {
  const versionId = env.modelVersionId!;
  if (await deps.documents.get(paths.evaluation(versionId, env.hospitalId)))
    return skip(deps, env, `${versionId} already evaluated`);
  const { artifacts } = await deps.models.load(versionId);
  const { model, preprocessor } = await loadHimasModel(artifacts);
  try {
    const test = transformRecords(preprocessor, await deps.cohorts.read(env.hospitalId, 'test'));
    const evaluation = hospitalEvaluation(model, test, env.hospitalId, versionId);
    await publishEvent(
      deps.events,
      makeEvent('evaluation.reported', {
        id: `evaluation:${versionId}:${env.hospitalId}`,
        runId: env.runId,
        round: 0,
        time: deps.clock.now(),
        data: evaluation,
      }),
    );
    return {
      status: 'done',
      detail: `AUROC ${evaluation.metrics.auroc?.toFixed(3) ?? 'n/a'} on ${test.rows} test stays`,
    };
  } finally {
    model.dispose();
  }
}

async function trainRound(env: JobEnv, run: RunDocument, deps: HospitalJobDeps): Promise<HospitalJobOutcome> {
  const round = env.round!;
  const roundDoc = await readRound(deps.documents, env.runId, round);
  if (!roundDoc) throw new Error(`round ${round} of run ${env.runId} was never opened`);
  if (roundDoc.status !== 'open') return skip(deps, env, `round ${round} is ${roundDoc.status}`);
  if (await deps.documents.get(paths.update(env.runId, round, env.hospitalId)))
    return skip(deps, env, `update for round ${round} already received`);

  // Check the enrolment before touching any patient data: an impostor job stops here.
  const keys = await enrol(env.hospitalId, deps);
  const started = deps.clock.now().getTime();
  const config = run.config;
  const { artifacts } = await deps.models.load(roundDoc.baseModelVersionId);
  const { model, preprocessor } = await loadHimasModel(artifacts);
  try {
    const trainRecords = await deps.cohorts.read(env.hospitalId, 'train');
    const train = transformRecords(preprocessor, trainRecords);
    const test = transformRecords(preprocessor, await deps.cohorts.read(env.hospitalId, 'test'));
    const baseEvaluation = hospitalEvaluation(model, test, env.hospitalId, roundDoc.baseModelVersionId);
    const global = getFlatWeights(model);
    // Batch order/sampling is reproducible per run, hospital and round; DP noise never uses it.
    const random = new SeededRandom(config.seed).fork(`shuffle:${env.hospitalId}:${round}`);
    const options = {
      epochs: config.localEpochs,
      batchSize: config.batchSize,
      learningRate: config.localLearningRate,
      random,
    };
    let patientPrivacy: PrivacyGuarantee | null = null;
    let result;
    if (config.patientPrivacy === 'dp-sgd') {
      // Charged to the cohort's lifetime ledger (or refused) before DP-SGD uses a single row.
      const charge = await chargeTrainingAttempt(deps, {
        config,
        runId: env.runId,
        hospitalId: env.hospitalId,
        round,
        cohortFingerprint: cohortFingerprint(trainRecords),
        datasetSize: train.rows,
      });
      result = await trainLocallyWithDpSgd(model, train, {
        ...options,
        exampleClipNorm: config.exampleClipNorm,
        noiseMultiplier: charge.plan.noiseMultiplier,
        noiseRandom: new CryptoRandom(),
      });
      patientPrivacy = await patientGuarantee(deps.ledger, config, env.hospitalId, charge.cohortFingerprint);
    } else {
      result = await trainLocally(model, train, options);
    }
    const local = getFlatWeights(model);
    const delta = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
    // Clip at the source: the aggregator rejects an update over the clip norm rather than trusting it.
    const clipped = config.aggregation === 'dp-fedavg' ? clipToNorm(delta, config.clipNorm).clipped : delta;
    // Secure aggregation: only the masked fixed-point vector leaves; its norm would leak, so it stays.
    const masked = roundDoc.masking
      ? await maskClippedUpdate({
          documents: deps.documents,
          round: roundDoc,
          hospitalId: env.hospitalId,
          maskingKey: keys.masking,
          clipped,
        })
      : null;
    const sentNorm = masked ? null : l2Norm(clipped);
    const bytes = encodeUpdate(masked ? masked.values : clipped);
    const blobPath = blobPaths.update(env.runId, round, env.hospitalId);
    await deps.blobs.put(blobPath, bytes, { contentType: 'application/octet-stream' });
    const signature = signUpdate(
      {
        runId: env.runId,
        round,
        hospitalId: env.hospitalId,
        baseModelVersionId: roundDoc.baseModelVersionId,
        numExamples: train.rows,
        blob: bytes,
      },
      importPrivateKeyPem(keys.signing.privateKeyPem),
    );
    const trainSeconds = (deps.clock.now().getTime() - started) / 1000;
    // With DP-SGD the raw training loss is not privatised, so it is not shared.
    const trainLoss = config.patientPrivacy === 'dp-sgd' ? null : (result.epochLosses.at(-1) ?? null);
    await publishEvent(
      deps.events,
      makeEvent('update.submitted', {
        id: `update:${env.runId}:${round}:${env.hospitalId}`,
        runId: env.runId,
        round,
        time: deps.clock.now(),
        data: {
          hospitalId: env.hospitalId,
          baseModelVersionId: roundDoc.baseModelVersionId,
          blobPath,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          numExamples: train.rows,
          norm: sentNorm,
          numParameters: clipped.length,
          trainLoss,
          trainSeconds,
          baseEvaluation,
          patientPrivacy,
          signature,
          masking: masked?.masking ?? null,
        },
      }),
    );
    logs.jobTrained(deps.logger, env.runId, round, env.hospitalId, trainLoss, trainSeconds);
    return { status: 'done', detail: `update of ${clipped.length} parameters from ${train.rows} stays` };
  } finally {
    model.dispose();
  }
}

function skip(deps: HospitalJobDeps, env: JobEnv, reason: string): HospitalJobOutcome {
  logs.jobSkipped(deps.logger, env.hospitalId, reason);
  return { status: 'skipped', detail: reason };
}
