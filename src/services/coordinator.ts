import { z } from 'zod';
import { HospitalIdSchema, RunIdSchema } from '../../schemas/events';
import { secureAggregationProblem, TrainingConfigSchema } from '../../schemas/training-config';
import { modelVersionId, paths, type RoundDocument, type RunDocument } from '../../schemas/documents';
import type { RunLifecycle } from './run-lifecycle';

/**
 * The coordinator: the run-lifecycle steps a driver cannot do with a plain connector (validate a
 * config, build the initial model with TensorFlow.js, open rounds). Cloud Workflows calls it over
 * HTTP (functions/coordinator); the local engine calls the same handler in-process. Requests and
 * answers are JSON; bad input is a 400 with a message naming the field.
 */
export interface CoordinatorRequest {
  method: string;
  path: string;
  body?: unknown;
}

export interface CoordinatorResponse {
  status: number;
  body: Record<string, unknown>;
}

const CreateRunBody = z
  .object({
    runId: RunIdSchema,
    hospitals: z.array(HospitalIdSchema).min(1),
    /** Partial training config; omitted fields take their defaults. */
    config: z.record(z.string(), z.unknown()).default({}),
    dataSource: z.object({ kind: z.enum(['csv', 'bigquery']), location: z.string().min(1) }),
    /** Continue the run if it exists (a re-executed workflow), instead of failing. */
    resume: z.boolean().default(false),
    outputDirectory: z.string().nullish(),
    /** Each hospital's declared (public) number of training stays, e.g. {"h1": 1500}. */
    declaredTrainStays: z.record(HospitalIdSchema, z.number().int().min(1)).default({}),
  })
  .strict();

const FinishBody = z.object({ status: z.enum(['completed', 'failed', 'halted']).optional() }).strict();

export class Coordinator {
  constructor(private readonly lifecycle: RunLifecycle) {}

  async handle(request: CoordinatorRequest): Promise<CoordinatorResponse> {
    try {
      return await this.route(request);
    } catch (error) {
      if (error instanceof z.ZodError) {
        const issue = error.issues[0];
        return { status: 400, body: { error: `invalid '${issue.path.join('.')}': ${issue.message}` } };
      }
      if (error instanceof CoordinatorError) return { status: error.status, body: { error: error.message } };
      throw error;
    }
  }

  private async route({ method, path, body }: CoordinatorRequest): Promise<CoordinatorResponse> {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'runs') throw new CoordinatorError(404, `no route ${method} ${path}`);
    if (method === 'POST' && parts.length === 1) return this.createRun(CreateRunBody.parse(body ?? {}));
    const runId = RunIdSchema.parse(parts[1]);
    if (method === 'GET' && parts.length === 2) return ok(summary(await this.mustGetRun(runId)));
    if (method === 'POST' && parts.length === 3 && parts[2] === 'initialize') {
      const version = await this.lifecycle.initializeModel(await this.mustGetRun(runId));
      return ok({ modelVersionId: version.versionId, numParameters: version.numParameters });
    }
    if (method === 'POST' && parts.length === 3 && parts[2] === 'finish') {
      const { status } = FinishBody.parse(body ?? {});
      const run = await this.mustGetRun(runId);
      const final = status ?? finalStatus(run);
      await this.lifecycle.finishRun(runId, final);
      return ok(summary(await this.mustGetRun(runId)));
    }
    if (method === 'GET' && parts.length === 4 && parts[2] === 'rounds') {
      const round = z.coerce.number().int().min(1).parse(parts[3]);
      const doc = await this.lifecycle.getRound(runId, round);
      if (!doc) throw new CoordinatorError(404, `round ${round} of run ${runId} was never opened`);
      return ok(roundSummary(doc));
    }
    if (parts.length === 5 && parts[2] === 'rounds') {
      const round = z.coerce.number().int().min(1).parse(parts[3]);
      if (method === 'POST' && parts[4] === 'open') {
        const doc = await this.lifecycle.openRound(runId, round);
        return ok({
          status: doc.status,
          expectedHospitals: doc.expectedHospitals,
          deadline: doc.deadline,
          // The document the workflow polls (with the Firestore connector) until the round ends.
          roundPath: paths.round(runId, round),
          event: this.lifecycle.roundStartedEvent(doc),
        });
      }
      if (method === 'POST' && parts[4] === 'deadline') {
        const doc = await this.lifecycle.getRound(runId, round);
        if (!doc) throw new CoordinatorError(404, `round ${round} of run ${runId} was never opened`);
        return ok({ event: this.lifecycle.roundDeadlineEvent(doc) });
      }
    }
    throw new CoordinatorError(404, `no route ${method} ${path}`);
  }

  private async createRun(body: z.infer<typeof CreateRunBody>): Promise<CoordinatorResponse> {
    const existing = await this.lifecycle.getRun(body.runId);
    if (existing) {
      if (!body.resume)
        throw new CoordinatorError(
          409,
          `run ${body.runId} already exists (pass resume: true to continue it)`,
        );
      return ok(summary(existing));
    }
    const undeclared = body.hospitals.filter((h) => body.declaredTrainStays[h] === undefined);
    if (undeclared.length > 0)
      throw new CoordinatorError(
        400,
        `invalid 'declaredTrainStays': no declared cohort size for ${undeclared.join(', ')} (each hospital's public, approximate number of training stays, e.g. {"${undeclared[0]}": 1500}; HIMAS never counts them from the records)`,
      );
    const config = TrainingConfigSchema.parse(body.config);
    const masking = secureAggregationProblem(config, body.hospitals.length);
    if (masking !== null) throw new CoordinatorError(400, `invalid '${masking.field}': ${masking.message}`);
    const run = await this.lifecycle.createRun({
      runId: body.runId,
      config,
      hospitals: body.hospitals,
      dataSource: body.dataSource,
      outputDirectory: body.outputDirectory ?? undefined,
      declaredTrainStays: body.declaredTrainStays,
    });
    return ok(summary(run));
  }

  private async mustGetRun(runId: string): Promise<RunDocument> {
    const run = await this.lifecycle.getRun(runId);
    if (!run) throw new CoordinatorError(404, `run ${runId} does not exist`);
    return run;
  }
}

class CoordinatorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ok = (body: Record<string, unknown>): CoordinatorResponse => ({ status: 200, body });

/**
 * What the workflow needs to drive a round's seed reveal: who masked, who dropped out, and the
 * survivors whose jobs run in `reveal` mode.
 */
function roundSummary(doc: RoundDocument): Record<string, unknown> {
  const participants = doc.masking?.participants ?? doc.expectedHospitals;
  return {
    status: doc.status,
    masked: doc.masking !== null,
    participants,
    dropped: doc.droppedHospitals,
    survivors: participants.filter((h) => !doc.droppedHospitals.includes(h)),
  };
}

/** What the workflow needs to drive a run. */
function summary(run: RunDocument): Record<string, unknown> {
  return {
    runId: run.runId,
    status: run.status,
    hospitals: run.hospitals,
    rounds: run.config.rounds,
    currentRound: run.currentRound,
    deadlineSeconds: run.config.deadlineSeconds,
    latestModelVersionId: run.latestModelVersionId,
    halted: run.halt !== null,
    haltReason: run.halt?.reason ?? null,
  };
}

/**
 * How a run that the workflow finished ended: halted when something set its halt flag, failed when
 * no round closed (every version after the initial, untrained one comes from a closed round), else
 * completed. A run that trained nothing is not "completed".
 */
function finalStatus(run: RunDocument): 'completed' | 'failed' | 'halted' {
  if (run.halt) return 'halted';
  const trained =
    run.latestModelVersionId !== null && run.latestModelVersionId !== modelVersionId(run.runId, 0);
  return trained ? 'completed' : 'failed';
}
