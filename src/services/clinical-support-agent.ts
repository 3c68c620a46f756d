import type { LayersModel } from '@tensorflow/tfjs';
import { ZodError } from 'zod';
import { RunDocumentSchema, paths, type ModelVersionDocument } from '../../schemas/documents';
import type { PooledQuality } from '../../schemas/metrics';
import type { AttributionMethod } from '../core/agents/attribution';
import { assessStay, type ClinicalAssessment, type ServedCalibration } from '../core/agents/clinical-support';
import type { NarrativePrompt } from '../core/agents/clinical-narrative';
import { chooseServableVersion } from '../core/agents/servable-version';
import { stayInputIssues, validateStay } from '../core/agents/stay-input';
import type { Preprocessor } from '../core/data';
import { logs } from '../logs';
import type { Logger } from '../logging/logger';
import type { DocumentStore } from '../ports/document-store';
import type { Delivery } from '../ports/event-bus';
import type { LanguageModel } from '../ports/language-model';
import type { ModelRegistry } from '../ports/model-registry';
import { decodeOrLogPoison } from './event-publishing';
import { loadHimasModel } from './model-artifacts';
import { describeGuarantee } from './privacy-guarantee';
import { readRun } from './run-documents';

export interface ClinicalSupportDeps {
  documents: DocumentStore;
  models: ModelRegistry;
  logger: Logger;
  /** Optional garnish; without it (the default) the narrative is the template's. */
  languageModel?: LanguageModel;
  /**
   * Deployment flag: send the stay's values and exact risk to the language model. Off by default;
   * identifiers (stay_id) are never sent either way.
   */
  languageModelRecordValues?: boolean;
}

export interface ClinicalSupportOptions {
  /** Serve this run only; otherwise follow the run of the latest model.published (or the newest run). */
  runId?: string;
  attribution?: AttributionMethod;
}

export interface ClinicalSupportAnswer {
  status: number;
  body: Record<string, unknown>;
}

interface LoadedModel {
  doc: ModelVersionDocument;
  /** Its run trained site intercepts: the hospitals' figures describe their own intercepts, not the shared one. */
  siteIntercepts: boolean;
  model: LayersModel;
  preprocessor: Preprocessor;
}

/**
 * The clinical decision-support function's logic (issue 7, agent 4; functions/agents/
 * clinical-decision-support registers it). It holds one model version in memory, loads the newest
 * one on `model.published`, and before every answer re-checks the store: a version the privacy
 * guardian halted (or any later one of its run) is never served, even if it was loaded before the
 * guardian ruled; it falls back to the newest servable version or answers 503 saying why.
 */
export class ClinicalSupportAgent {
  private loaded: LoadedModel | null = null;
  private followedRunId: string | null = null;
  /** Choosing, loading, swapping and using the model run one at a time, so none is disposed in use. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: ClinicalSupportDeps,
    private readonly options: ClinicalSupportOptions = {},
  ) {}

  /** model.published: follow its run and load its newest servable version now, not on first use. */
  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const event = decodeOrLogPoison(delivery, this.deps.logger);
    if (!event) return;
    if (event.type !== 'model.published') return;
    if (this.options.runId && event.runId !== this.options.runId) return;
    this.followedRunId = event.runId;
    const served = await this.exclusive(() => this.servable());
    logs.clinicalModelReloaded(
      this.deps.logger,
      event.data.modelVersionId,
      served.ok ? served.loaded.doc.versionId : null,
      served.ok ? null : served.reason,
    );
  }

  /** POST /predict: 400 names what was wrong and where, 503 says why no model can answer. */
  async predict(body: unknown): Promise<ClinicalSupportAnswer> {
    try {
      validateStay(body);
    } catch (error) {
      if (error instanceof ZodError) return badRequest(error);
      throw error;
    }
    const result = await this.exclusive(async () => {
      const served = await this.servable();
      if (!served.ok) return served;
      const { doc, model, preprocessor, siteIntercepts } = served.loaded;
      const version = {
        versionId: doc.versionId,
        runId: doc.runId,
        round: doc.round,
        privacy: doc.privacy,
        calibration: servedCalibration(doc.pooled, siteIntercepts),
      };
      return {
        ok: true as const,
        ...assessStay({ model, preprocessor, version }, body, { method: this.options.attribution }),
      };
    });
    if (!result.ok) return { status: 503, body: { error: 'no servable model', reason: result.reason } };
    const { assessment, narrativePrompt } = result;
    const narrative = await this.garnish(assessment, narrativePrompt);
    return {
      status: 200,
      body: {
        ...assessment,
        narrative,
        privacyStatements: assessment.privacy.map(describeGuarantee),
      },
    };
  }

  /** The version currently held, if any (for tests and status). */
  get currentVersionId(): string | null {
    return this.loaded?.doc.versionId ?? null;
  }

  private async servable(): Promise<{ ok: true; loaded: LoadedModel } | { ok: false; reason: string }> {
    const runId = this.options.runId ?? this.followedRunId ?? (await this.newestRunId());
    if (!runId) return this.unload('no run has published a model yet');
    const run = await readRun(this.deps.documents, runId);
    if (!run) return this.unload(`run ${runId} does not exist`);
    const choice = chooseServableVersion(runId, await this.deps.models.list(runId), {
      haltedBy: run.halt?.by ?? null,
      reason: run.halt?.reason ?? null,
    });
    if (!choice.ok) return this.unload(choice.reason);
    const siteIntercepts = run.config.siteIntercept;
    if (this.loaded?.doc.versionId === choice.version.versionId) {
      this.loaded.doc = choice.version;
      this.loaded.siteIntercepts = siteIntercepts;
      return { ok: true, loaded: this.loaded };
    }
    const { doc, artifacts } = await this.deps.models.load(choice.version.versionId);
    const { model, preprocessor } = await loadHimasModel(artifacts);
    this.loaded?.model.dispose();
    this.loaded = { doc, model, preprocessor, siteIntercepts };
    return { ok: true, loaded: this.loaded };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private unload(reason: string): { ok: false; reason: string } {
    if (this.loaded) {
      logs.clinicalModelWithdrawn(this.deps.logger, this.loaded.doc.versionId, reason);
      this.loaded.model.dispose();
      this.loaded = null;
    }
    return { ok: false, reason };
  }

  /** The run most recently created that has a model, when nothing chose one yet (a cold start). */
  private async newestRunId(): Promise<string | null> {
    const runs = (await this.deps.documents.list(paths.runs()))
      .map((s) => RunDocumentSchema.safeParse(s.data))
      .flatMap((r) => (r.success && r.data.latestModelVersionId ? [r.data] : []))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return runs[0]?.runId ?? null;
  }

  private async garnish(
    assessment: ClinicalAssessment,
    narrativePrompt: (includeRecordValues: boolean) => NarrativePrompt,
  ): Promise<ClinicalAssessment['narrative']> {
    const lm = this.deps.languageModel;
    if (!lm) return assessment.narrative;
    try {
      const text = await lm.generate(narrativePrompt(this.deps.languageModelRecordValues === true));
      return { ...assessment.narrative, text: text.trim(), writer: lm.name };
    } catch (error) {
      logs.clinicalLanguageModelFailed(this.deps.logger, lm.name, (error as Error).message);
      return assessment.narrative;
    }
  }
}

function badRequest(error: ZodError): ClinicalSupportAnswer {
  const issues = stayInputIssues(error);
  return {
    status: 400,
    body: { error: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues },
  };
}

/** What the pooled (noisy) test evaluation says about the version's calibration, for each answer. */
export function servedCalibration(
  pooled: PooledQuality | null | undefined,
  siteIntercepts = false,
): ServedCalibration | null {
  if (!pooled) return null;
  return {
    siteIntercepts,
    observedExpectedRatio: pooled.metrics.observedExpectedRatio,
    slope: pooled.metrics.calibrationSlope,
    observedExpectedRatioInterval: pooled.intervals.observedExpectedRatio ?? null,
    slopeInterval: pooled.intervals.calibrationSlope ?? null,
    n: pooled.metrics.n,
  };
}
