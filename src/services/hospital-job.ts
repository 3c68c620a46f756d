import { createHash } from 'node:crypto';
import { blobPaths, paths, type RunDocument } from '../../schemas/documents';
import { usesSecureAggregation } from '../../schemas/training-config';
import type { HospitalEvaluation } from '../../schemas/metrics';
import type { SignedLedgerEntry } from '../../schemas/privacy-ledger';
import { HospitalEvaluationSchema } from '../../schemas/metrics';
import type { HospitalKeyStore } from '../ports/hospital-keys';
import { importPrivateKeyPem } from '../runtime/secure-aggregation-crypto';
import { signUpdate } from '../runtime/update-signing';
import { hospitalEventSigner, type HospitalEventSigner } from '../runtime/hospital-event-signing';
import type { JobEnv } from '../config/job-env';
import { encodeUpdate } from '../core/codec/update-codec';
import { transformRecords, type Preprocessor } from '../core/data';
import { clipToNorm } from '../core/federated';
import {
  getFlatWeights,
  interceptIndex,
  setFlatWeights,
  siteUpdate,
  trainLocally,
  trainLocallyWithDpSgd,
  withSiteIntercept,
} from '../core/model';
import type { LayersModel } from '@tensorflow/tfjs';
import { CryptoRandom } from '../runtime/crypto-random';
import { BlobHospitalLedgerStore } from '../adapters/ledger/blob-hospital-ledger-store';
import { chargeUse, reservedMechanism, reserveRunPrivacy } from './patient-privacy';
import type { HospitalLedgerDeps, LedgerSigner } from './hospital-ledger';
import { confirmOwnEnrolment, type EnrolledKeys } from './hospital-enrolment';
import { revealSeeds } from './seed-reveal';
import { maskClippedUpdate, publishRoundKeys } from './update-masking';
import { describeAggregates, shareAggregates } from './hospital-aggregates';
import { SeededRandom } from '../core/random/seeded-random';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { HospitalLedgerStore } from '../ports/hospital-ledger-store';
import type { HospitalSiteStore } from '../ports/hospital-site-store';
import type { CohortSource } from '../ports/cohort-source';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { ModelRegistry } from '../ports/model-registry';
import { makeEvent, publishEvent } from './event-publishing';
import { loadHimasModel } from './model-artifacts';
import { hospitalEvaluation } from './model-evaluation';
import { ownInterceptAsOf } from './site-intercepts';
import { readRound, readRun } from './run-documents';

/**
 * The ports a hospital job uses: no transactions and no subscriptions, so they can be served
 * remotely. Least privilege: shared state is read only (the round, its peers' public keys, the
 * model); what a hospital says travels as signed events on himas-updates, which only the
 * aggregator records. It writes blobs under its own prefixes (its update, releases, ledger copy).
 */
export interface HospitalJobPorts {
  documents: Pick<DocumentStore, 'get' | 'list'>;
  blobs: BlobStore;
  events: Pick<EventBus, 'publish'>;
  models: Pick<ModelRegistry, 'get' | 'load'>;
}

export interface HospitalJobDeps extends HospitalJobPorts {
  cohorts: CohortSource;
  /** The hospital's own secret store (its signing key); never reachable by the coordinator. */
  keys: HospitalKeyStore;
  /** The hospital's own privacy ledger (one per hospital, across runs); its copy is published to `blobs`. */
  ledger: HospitalLedgerStore;
  /**
   * The hospital's own site state (its intercepts, next to its ledger); needed only by runs that
   * train site intercepts, which a job without one refuses.
   */
  site?: HospitalSiteStore;
  clock: Clock;
  logger: Logger;
}

export type HospitalJobOutcome = { status: 'done' | 'skipped'; detail: string };

/**
 * One hospital's job (jobs/train runs it as a Cloud Run job; locally a child process does). Four
 * modes: `stats` reserves the run's privacy plan in the hospital's ledger (refusing the run, before
 * any record is read, when it would exceed the lifetime budget) and makes the agents' releases if
 * the run enables them (and, with secure aggregation, publishes its round masking public keys);
 * `train` trains one round with DP-SGD and submits a clipped (in a masked round, double-masked,
 * with its encrypted shares) signed update; `reveal` publishes, signed, a survivor's one share
 * per participant of a masked round (docs/architecture.md §5); `evaluate` releases a noisy risk
 * histogram of a model version on the hospital's test split. Every read of the data is charged to the ledger before it happens;
 * what leaves is DP-noised or public (docs/architecture.md §5). Re-running a job is safe: what was
 * already answered is skipped or re-sent, never re-drawn for free.
 */
export async function runHospitalJob(env: JobEnv, deps: HospitalJobDeps): Promise<HospitalJobOutcome> {
  logs.jobStarted(deps.logger, env.mode, env.runId, env.round ?? null, env.hospitalId);
  const run = await readRun(deps.documents, env.runId);
  if (!run) throw new Error(`run ${env.runId} does not exist`);
  if (!run.hospitals.includes(env.hospitalId))
    throw new Error(`hospital ${env.hospitalId} is not enrolled in run ${env.runId}`);
  // Check the operator's enrolment before touching any patient data: an impostor job, a revoked
  // hospital or a key store that lost its key stops here.
  const keys = await confirmOwnEnrolment(env.hospitalId, deps);
  const sign = hospitalEventSigner(keys.signing.privateKeyPem);
  if (env.mode === 'reveal') return revealSeeds({ ...env, round: env.round! }, { ...deps, keys, sign });
  const ledger = ledgerContext(env.hospitalId, keys, deps);
  const { entries: reserved } = await reserveRunPrivacy(ledger.deps, ledger.signer, run);
  const privacy: LedgerContext = { ...ledger, reserved };
  // Secure aggregation's first phase: this hospital's round public keys, before any round masks
  // (a blob under its own prefix: a hospital writes no shared document).
  if (usesSecureAggregation(run.config)) await publishRoundKeys(deps.blobs, run, env.hospitalId, keys);
  if (env.mode === 'stats') return shareReleases(env, run, deps, privacy, sign);
  if (env.mode === 'evaluate') return evaluateVersion(env, run, deps, privacy, sign);
  return trainRound(env, run, deps, keys, privacy, sign);
}

interface LedgerContext {
  deps: HospitalLedgerDeps;
  signer: LedgerSigner;
  /** The ledger as this job's reservation left it: the job's one charge builds on it (useSlots' `known`). */
  reserved?: readonly SignedLedgerEntry[];
}

function ledgerContext(
  hospitalId: string,
  keys: EnrolledKeys,
  deps: HospitalJobDeps,
): Omit<LedgerContext, 'reserved'> {
  return {
    deps: {
      ledger: deps.ledger,
      mirror: new BlobHospitalLedgerStore(deps.blobs, 'the shared store', blobPaths.ledgerMirrorRoot),
      clock: deps.clock,
    },
    signer: {
      hospitalId,
      privateKey: importPrivateKeyPem(keys.signing.privateKeyPem),
      publicKey: keys.signing.publicKey,
      previousPublicKeys: keys.previousSigningPublicKeys,
    },
  };
}

async function shareReleases(
  env: JobEnv,
  run: RunDocument,
  deps: HospitalJobDeps,
  privacy: LedgerContext,
  sign: HospitalEventSigner,
): Promise<HospitalJobOutcome> {
  const outcomes = await shareAggregates(
    env.runId,
    env.hospitalId,
    run,
    { ...deps, random: new CryptoRandom(), sign },
    async () => {
      await chargeUse(privacy.deps, privacy.signer, run, ['stats'], privacy.reserved);
    },
  );
  const detail = describeAggregates(outcomes);
  logs.aggregatesShared(deps.logger, env.runId, env.hospitalId, detail);
  return { status: 'done', detail: `privacy plan reserved; ${detail}` };
}

async function evaluateVersion(
  env: JobEnv,
  run: RunDocument,
  deps: HospitalJobDeps,
  privacy: LedgerContext,
  sign: HospitalEventSigner,
): Promise<HospitalJobOutcome> {
  const versionId = env.modelVersionId!;
  if (await deps.documents.get(paths.evaluation(versionId, env.hospitalId)))
    return skip(deps, env, `${versionId} already evaluated`);
  const { doc, artifacts } = await deps.models.load(versionId);
  const { model, preprocessor } = await loadHimasModel(artifacts);
  try {
    // With site intercepts the hospital scores the version as it would serve it: with the
    // intercept it trained in that version's round (or the latest before it).
    await applySiteIntercept(env, run, deps, model, doc.round);
    const evaluation = await evaluationRelease(env, run, deps, privacy, { model, preprocessor, versionId });
    await publishEvent(
      deps.events,
      sign(
        makeEvent('evaluation.reported', {
          id: `evaluation:${versionId}:${env.hospitalId}`,
          runId: env.runId,
          round: 0,
          time: deps.clock.now(),
          data: evaluation,
        }),
      ),
    );
    return {
      status: 'done',
      detail: `noisy evaluation of ${versionId} released (noise SD ${evaluation.histogram.noiseStd.toFixed(2)} per count)`,
    };
  } finally {
    model.dispose();
  }
}

/**
 * The hospital's noisy evaluation of a version: re-sent if it was released before (no data read,
 * no charge), else charged to the ledger, then the test split is read and the noise drawn.
 */
async function evaluationRelease(
  env: JobEnv,
  run: RunDocument,
  deps: HospitalJobDeps,
  privacy: LedgerContext,
  target: { model: LayersModel; preprocessor: Preprocessor; versionId: string },
  alsoCharge: string[] = [],
): Promise<HospitalEvaluation> {
  const stored = blobPaths.release(env.runId, env.hospitalId, `evaluation-${target.versionId}`);
  if (await deps.blobs.stat(stored)) {
    if (alsoCharge.length > 0)
      await chargeUse(privacy.deps, privacy.signer, run, alsoCharge, privacy.reserved);
    return HospitalEvaluationSchema.parse(
      JSON.parse(Buffer.from(await deps.blobs.get(stored)).toString('utf8')),
    );
  }
  const entries = await chargeUse(
    privacy.deps,
    privacy.signer,
    run,
    [...alsoCharge, `evaluation:${target.versionId}`],
    privacy.reserved,
  );
  const mechanism = reservedMechanism(entries, env.runId, 'evaluation');
  const test = transformRecords(target.preprocessor, await deps.cohorts.read(env.hospitalId, 'test'));
  const evaluation = hospitalEvaluation(target.model, test, {
    hospitalId: env.hospitalId,
    modelVersionId: target.versionId,
    noiseMultiplier: mechanism.noiseMultiplier,
    delta: run.config.delta,
    random: new CryptoRandom(),
  });
  await deps.blobs.put(stored, Buffer.from(JSON.stringify(evaluation)), { contentType: 'application/json' });
  return evaluation;
}

async function trainRound(
  env: JobEnv,
  run: RunDocument,
  deps: HospitalJobDeps,
  keys: EnrolledKeys,
  privacy: LedgerContext,
  sign: HospitalEventSigner,
): Promise<HospitalJobOutcome> {
  const round = env.round!;
  const roundDoc = await readRound(deps.documents, env.runId, round);
  if (!roundDoc) throw new Error(`round ${round} of run ${env.runId} was never opened`);
  if (roundDoc.status !== 'open') return skip(deps, env, `round ${round} is ${roundDoc.status}`);
  if (await deps.documents.get(paths.update(env.runId, round, env.hospitalId)))
    return skip(deps, env, `update for round ${round} already received`);

  const config = run.config;
  const declared = run.declaredTrainStays[env.hospitalId];
  const { artifacts } = await deps.models.load(roundDoc.baseModelVersionId);
  const { model, preprocessor } = await loadHimasModel(artifacts);
  try {
    const global = getFlatWeights(model);
    // The incoming model as this hospital uses it: with site intercepts, its own from the rounds
    // before this one (a retry of this round starts from there again, not from its own attempt).
    const site = await applySiteIntercept(env, run, deps, model, round - 1);
    const trainSlot = `train:${round}`;
    // Charged before a record is read: the round's DP-SGD (a retry of it pays again) and, when the
    // run evaluates every round, the noisy evaluation of the incoming model.
    // The ledger's entries after the charge, the one paying for this round among them.
    let entries: SignedLedgerEntry[];
    let baseEvaluation: HospitalEvaluation | null = null;
    if (config.evaluateEveryRound) {
      baseEvaluation = await evaluationRelease(
        env,
        run,
        deps,
        privacy,
        { model, preprocessor, versionId: roundDoc.baseModelVersionId },
        [trainSlot],
      );
      entries = await privacy.deps.ledger.read(env.hospitalId);
    } else entries = await chargeUse(privacy.deps, privacy.signer, run, [trainSlot], privacy.reserved);
    const train = transformRecords(preprocessor, await deps.cohorts.read(env.hospitalId, 'train'));
    const common = {
      epochs: config.localEpochs,
      batchSize: config.batchSize,
      learningRate: config.localLearningRate,
      proximalMu: config.proximalMu,
    };
    let result;
    if (config.patientPrivacy === 'dp-sgd') {
      const sgd = reservedMechanism(entries, env.runId, 'dp-sgd');
      // Sampling and noise from the CSPRNG: nothing stored or configured rebuilds a batch.
      result = await trainLocallyWithDpSgd(model, train, {
        ...common,
        declaredRows: declared,
        exampleClipNorm: config.exampleClipNorm,
        noiseMultiplier: sgd.noiseMultiplier,
        random: new CryptoRandom(),
        noiseRandom: new CryptoRandom(),
      });
    } else {
      // No patient-level guarantee (recorded as ε = ∞): the simulation stays reproducible from the seed.
      result = await trainLocally(model, train, {
        ...common,
        random: new SeededRandom(config.seed).fork(`shuffle:${env.hospitalId}:${round}`),
      });
    }
    const { delta, intercept } = localUpdate(getFlatWeights(model), global, site);
    // Clip at the source: the aggregator rejects an update over the clip norm rather than trusting it.
    const clipped = config.aggregation === 'dp-fedavg' ? clipToNorm(delta, config.clipNorm).clipped : delta;
    // Secure aggregation: only the double-masked fixed-point vector leaves, and the shares that
    // unmask it go first, so an update that arrives can always be unmasked (never the reverse).
    const masked = roundDoc.masking
      ? await maskClippedUpdate({
          documents: deps.documents,
          blobs: deps.blobs,
          round: roundDoc,
          hospitalId: env.hospitalId,
          keys,
          clipped,
          now: deps.clock.now(),
        })
      : null;
    const bytes = masked ? masked.bytes : encodeUpdate(clipped);
    if (masked) {
      const bundle = Buffer.from(JSON.stringify(masked.bundle));
      const options = { contentType: 'application/json' };
      await deps.blobs.put(
        blobPaths.maskingBundle(env.runId, round, env.hospitalId, masked.bundle.updateSha256),
        bundle,
        options,
      );
      await deps.blobs.put(blobPaths.latestMaskingBundle(env.runId, round, env.hospitalId), bundle, options);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // The intercept is kept, under the update's hash, before the update leaves: an update in the
    // aggregate always has its hospital's intercept to go with it.
    if (intercept !== null)
      await deps.site!.saveIntercept(env.runId, env.hospitalId, round, sha256, intercept);
    const blobPath = blobPaths.update(env.runId, round, env.hospitalId);
    await deps.blobs.put(blobPath, bytes, { contentType: 'application/octet-stream' });
    // The weight is the declared (public) cohort size, never the exact number of rows.
    const numExamples = declared!;
    const signature = signUpdate(
      {
        runId: env.runId,
        round,
        hospitalId: env.hospitalId,
        baseModelVersionId: roundDoc.baseModelVersionId,
        numExamples,
        blob: bytes,
      },
      importPrivateKeyPem(keys.signing.privateKeyPem),
    );
    // With DP-SGD the raw training loss is not privatised, so it is not shared.
    const trainLoss = config.patientPrivacy === 'dp-sgd' ? null : (result.epochLosses.at(-1) ?? null);
    // The entry that charged this round (or a later one): the aggregator accepts the update only if
    // the published ledger up to it pays for train:<round>.
    const ledgerSequence = entries.length - 1;
    await publishEvent(
      deps.events,
      sign(
        makeEvent('update.submitted', {
          id: `update:${env.runId}:${round}:${env.hospitalId}`,
          runId: env.runId,
          round,
          time: deps.clock.now(),
          data: {
            hospitalId: env.hospitalId,
            baseModelVersionId: roundDoc.baseModelVersionId,
            blobPath,
            sha256,
            numExamples,
            numParameters: clipped.length,
            trainLoss,
            baseEvaluation,
            ledgerSequence,
            signature,
            masking: masked?.masking ?? null,
          },
        }),
      ),
    );
    logs.jobTrained(deps.logger, env.runId, round, env.hospitalId, trainLoss);
    return { status: 'done', detail: `update of ${clipped.length} parameters submitted` };
  } finally {
    model.dispose();
  }
}

/**
 * What the round's training changed, as sent: local − global; with site intercepts the intercept's
 * coordinate carries the change of the hospital's own intercept (so the shared intercept follows
 * the hospitals' mean) and the trained intercept is returned, for the hospital to keep.
 */
function localUpdate(
  local: Float32Array,
  global: Float32Array,
  site: SiteStart | null,
): { delta: Float32Array; intercept: number | null } {
  if (site !== null) return siteUpdate(local, global, site.index, site.start);
  const delta = new Float32Array(local.length);
  for (let i = 0; i < local.length; i++) delta[i] = local[i] - global[i];
  return { delta, intercept: null };
}

/** Where the intercept is in the flat weights, and the value this hospital's round starts from. */
interface SiteStart {
  index: number;
  start: number;
}

/**
 * With site intercepts, puts the hospital's own intercept as of `round` into the model (none yet:
 * the shared one stays) and returns its index and that start value; without, null.
 */
async function applySiteIntercept(
  env: JobEnv,
  run: RunDocument,
  deps: HospitalJobDeps,
  model: LayersModel,
  round: number,
): Promise<SiteStart | null> {
  if (!run.config.siteIntercept) return null;
  if (!deps.site)
    throw new Error(
      `run ${env.runId} trains site intercepts, but this job has no storage of ${env.hospitalId}'s own to keep one in: set HIMAS_LEDGER_BUCKET (the hospital's bucket, in the cloud) or HIMAS_HOSPITAL_STATE_DIR (its state folder, locally), where its privacy ledger lives`,
    );
  const index = interceptIndex(model);
  const own = await ownInterceptAsOf(
    { documents: deps.documents, site: deps.site },
    env.runId,
    env.hospitalId,
    round,
  );
  const weights = getFlatWeights(model);
  if (own !== null) setFlatWeights(model, withSiteIntercept(weights, index, own));
  return { index, start: own ?? weights[index] };
}

function skip(deps: HospitalJobDeps, env: JobEnv, reason: string): HospitalJobOutcome {
  logs.jobSkipped(deps.logger, env.hospitalId, reason);
  return { status: 'skipped', detail: reason };
}
