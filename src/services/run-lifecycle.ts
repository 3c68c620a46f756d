import { createHash } from 'node:crypto';
import {
  MASKING_SCHEME,
  modelVersionId,
  paths,
  RunDocumentSchema,
  blobPaths,
  type ModelVersionDocument,
  type RoundDocument,
  type RunDocument,
} from '../../schemas/documents';
import {
  secureAggregationProblem,
  secureAggregationThreshold,
  usesSecureAggregation,
  type TrainingConfig,
} from '../../schemas/training-config';
import { chooseFixedPointScale } from '../core/secure-aggregation';
import type { EventOf } from '../../schemas/events';
import { referencePreprocessor } from '../core/data';
import { countParameters, createModel, getFlatWeights, serializeModel } from '../core/model';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { ModelRegistry } from '../ports/model-registry';
import { makeEvent, publishEvent } from './event-publishing';
import { hospitalLevelGuarantee } from './privacy-guarantee';
import { readRound, readRun } from './run-documents';
import { bytesFromWeights } from './weights-bytes';

export interface RunLifecycleDeps {
  documents: DocumentStore;
  blobs: BlobStore;
  events: EventBus;
  models: ModelRegistry;
  clock: Clock;
  logger: Logger;
}

/**
 * The coordinator's steps of a run, each idempotent, so a crashed driver (the local one or the
 * Cloud Workflows execution) can run them again: create the run, build the initial model (public
 * reference preprocessing), open rounds, signal deadlines, finish.
 */
export class RunLifecycle {
  constructor(private readonly deps: RunLifecycleDeps) {}

  async createRun(input: {
    runId: string;
    config: TrainingConfig;
    hospitals: string[];
    dataSource: RunDocument['dataSource'];
    outputDirectory?: string;
    /** Each hospital's declared (public) number of training stays. */
    declaredTrainStays: Record<string, number>;
  }): Promise<RunDocument> {
    // The same refusal as the CLI's, for a run started any other way (the workflow, the coordinator).
    const masking = secureAggregationProblem(input.config, input.hospitals.length);
    if (masking !== null) throw new Error(`run ${input.runId} refused: ${masking.message}`);
    const undeclared = input.hospitals.filter((h) => !(input.declaredTrainStays[h] >= 1));
    if (undeclared.length > 0)
      throw new Error(
        `no declared cohort size for ${undeclared.join(', ')}: every hospital declares its (public, approximate) number of training stays; HIMAS never counts them from the records`,
      );
    const now = this.deps.clock.now().toISOString();
    const doc: RunDocument = RunDocumentSchema.parse({
      runId: input.runId,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      config: input.config,
      hospitals: input.hospitals,
      dataSource: input.dataSource,
      currentRound: 0,
      latestModelVersionId: null,
      ledger: [],
      privacy: [hospitalLevelGuarantee(input.config, [], EVERY_HOSPITAL_EACH_ROUND)],
      halt: null,
      completedAt: null,
      outputDirectory: input.outputDirectory ?? null,
      declaredTrainStays: Object.fromEntries(input.hospitals.map((h) => [h, input.declaredTrainStays[h]])),
    });
    const created = await this.deps.documents.create(paths.run(input.runId), doc);
    if (!created)
      throw new Error(`run ${input.runId} already exists (use --resume ${input.runId} to continue it)`);
    logs.runCreated(this.deps.logger, input.runId, input.hospitals);
    return doc;
  }

  getRun(runId: string): Promise<RunDocument | undefined> {
    return readRun(this.deps.documents, runId);
  }

  getRound(runId: string, round: number): Promise<RoundDocument | undefined> {
    return readRound(this.deps.documents, runId, round);
  }

  /**
   * Version 0 of the model: random initial weights (seeded) and the preprocessor built from public
   * reference values (src/core/data/reference-statistics.ts), so every hospital standardises the
   * same way and no hospital's records — not even their sums — enter the model.
   */
  async initializeModel(run: RunDocument): Promise<ModelVersionDocument> {
    const versionId = modelVersionId(run.runId, 0);
    const existing = await this.deps.models.get(versionId);
    if (existing) return existing;
    const preprocessor = referencePreprocessor();
    const spec = {
      kind: run.config.model,
      inputDim: preprocessor.featureNames.length,
      hiddenUnits: run.config.model === 'mlp' ? run.config.hiddenUnits : [],
    };
    const model = createModel(spec, run.config.seed);
    try {
      const weights = bytesFromWeights(getFlatWeights(model));
      const serialized = await serializeModel(model, {
        himas: { preprocessor, versionId, runId: run.runId, round: 0 },
      });
      const doc: ModelVersionDocument = {
        versionId,
        runId: run.runId,
        round: 0,
        parentVersionId: null,
        createdAt: this.deps.clock.now().toISOString(),
        artifactPath: blobPaths.modelPrefix(versionId),
        sha256: createHash('sha256').update(weights).digest('hex'),
        numParameters: countParameters(model),
        modelSpec: spec,
        featureNames: preprocessor.featureNames,
        participants: [],
        privacy: run.privacy,
        hospitalPrivacy: [],
        pooled: null,
        halted: false,
      };
      const registered = await this.deps.models.register(doc, { modelJson: serialized.modelJson, weights });
      await this.deps.documents.update(paths.run(run.runId), {
        latestModelVersionId: versionId,
        updatedAt: doc.createdAt,
      });
      logs.runInitialized(this.deps.logger, run.runId, versionId, doc.numParameters);
      return registered.doc;
    } finally {
      model.dispose();
    }
  }

  /**
   * Opens a round (idempotent): the round document every hospital job and the aggregator read.
   * Announcing it (`round.started`) is the driver's step: the workflow publishes the event with the
   * Pub/Sub connector, the local driver through the bus (see `roundStartedEvent`).
   */
  async openRound(runId: string, round: number): Promise<RoundDocument> {
    const run = await this.getRun(runId);
    if (!run) throw new Error(`run ${runId} does not exist`);
    const existing = await this.getRound(runId, round);
    if (existing) return existing;
    if (!run.latestModelVersionId) throw new Error(`run ${runId} has no model to start round ${round} from`);
    const now = this.deps.clock.now();
    const expectedHospitals = run.hospitals;
    const doc: RoundDocument = {
      runId,
      round,
      status: 'open',
      expectedHospitals,
      quorum: Math.min(run.config.quorum ?? run.hospitals.length, run.hospitals.length),
      baseModelVersionId: run.latestModelVersionId,
      openedAt: now.toISOString(),
      deadline: new Date(now.getTime() + run.config.deadlineSeconds * 1000).toISOString(),
      lease: null,
      closedAt: null,
      modelVersionId: null,
      participants: [],
      failureReason: null,
      // The masking participants are fixed here: every expected hospital masks against every other.
      masking: usesSecureAggregation(run.config)
        ? {
            scheme: MASKING_SCHEME,
            participants: expectedHospitals,
            clipNorm: run.config.clipNorm,
            scale: chooseFixedPointScale(run.config.clipNorm, expectedHospitals.length).scale,
            minHospitals: run.config.secureAggregationMinHospitals,
            threshold: secureAggregationThreshold(run.config, expectedHospitals.length),
          }
        : null,
      droppedHospitals: [],
      seedsDeadline: null,
    };
    const created = await this.deps.documents.create(paths.round(runId, round), doc);
    const stored = created ? doc : (await this.getRound(runId, round))!;
    if (created) logs.roundOpened(this.deps.logger, runId, round, stored.expectedHospitals);
    return stored;
  }

  /** The `round.started` announcement of an open round (its id is fixed, so re-sending is harmless). */
  roundStartedEvent(doc: RoundDocument): EventOf<'round.started'> {
    return makeEvent('round.started', {
      id: `round.started:${doc.runId}:${doc.round}`,
      runId: doc.runId,
      round: doc.round,
      time: new Date(doc.openedAt),
      data: {
        expectedHospitals: doc.expectedHospitals,
        baseModelVersionId: doc.baseModelVersionId,
        deadline: doc.deadline,
      },
    });
  }

  /**
   * `round.deadline`: no more updates will come for this round; the aggregator closes or fails it.
   * For a round awaiting seeds it is the seeds deadline (no more seeds will come), with its own id
   * and deadline, so a late redelivery of the update deadline cannot end the seed reveal early.
   */
  roundDeadlineEvent(doc: RoundDocument): EventOf<'round.deadline'> {
    const seeds = doc.status === 'awaiting-seeds' && doc.seedsDeadline !== null;
    return makeEvent('round.deadline', {
      id: `round.deadline:${doc.runId}:${doc.round}${seeds ? ':seeds' : ''}`,
      runId: doc.runId,
      round: doc.round,
      time: this.deps.clock.now(),
      data: { deadline: seeds ? doc.seedsDeadline! : doc.deadline },
    });
  }

  /** Opens the round and announces it on the bus (the local driver's form of the workflow's two steps). */
  async startRound(runId: string, round: number): Promise<RoundDocument> {
    const doc = await this.openRound(runId, round);
    if (doc.status === 'open') await publishEvent(this.deps.events, this.roundStartedEvent(doc));
    return doc;
  }

  async signalDeadline(runId: string, round: number): Promise<void> {
    const roundDoc = await this.getRound(runId, round);
    if (!roundDoc) return;
    await publishEvent(this.deps.events, this.roundDeadlineEvent(roundDoc));
  }

  async finishRun(runId: string, status: 'completed' | 'failed' | 'halted'): Promise<void> {
    const now = this.deps.clock.now().toISOString();
    await this.deps.documents.update(paths.run(runId), { status, completedAt: now, updatedAt: now });
  }
}

/** Every enrolled hospital is expected in every round, so each round samples hospitals with q = 1. */
const EVERY_HOSPITAL_EACH_ROUND = 1;
