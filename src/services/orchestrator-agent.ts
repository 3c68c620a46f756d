import { metricsFromHistogram } from '../core/evaluation/pooled-metrics';
import { paths, RoundDocumentSchema, UpdateReceiptSchema, type RunDocument } from '../../schemas/documents';
import type { EventOf } from '../../schemas/events';
import { HospitalEvaluationSchema } from '../../schemas/metrics';
import { RUN_PROGRESS_TABLE, type RunProgressRow } from '../../schemas/warehouse';
import {
  checkAttendance,
  checkPlateau,
  DEFAULT_PLATEAU_RULE,
  type PlateauDecision,
  type PlateauRule,
  type RoundRecord,
  type VersionMetrics,
} from '../core/agents/convergence';
import { writeRunSummary } from '../core/agents/run-summary';
import { logs } from '../logs';
import type { Delivery } from '../ports/event-bus';
import { decodeOrLogPoison } from './event-publishing';
import type { AgentDeps } from './privacy-guardian-agent';
import { readRun } from './run-documents';
import { haltRunOnce } from './run-halt';

export const ORCHESTRATOR_ACTOR = 'agent:orchestrator';

export interface OrchestratorDecision {
  row: RunProgressRow;
  plateau: PlateauDecision;
  /** True when this call set the run's halt flag. */
  halted: boolean;
}

/**
 * The orchestrator function's logic (issue 7, agent 5; functions/agents/orchestrator registers it).
 * On `model.published` it gathers the run's history (pooled metrics per version, rounds and
 * receipts), applies the plateau and attendance rules of src/core/agents/convergence.ts, writes a
 * `run_progress` row with the run summary, and on a plateau sets the halt flag the workflow reads
 * before the next round.
 *
 * Hospitals evaluate a version at the start of the next round's job, so when version r is
 * published only versions up to r − 1 have pooled metrics: the history holds the versions that
 * have them, and convergence is judged on those (one version behind, by design).
 */
export class OrchestratorAgent {
  constructor(
    private readonly deps: Omit<AgentDeps, 'blobs'>,
    private readonly rule: PlateauRule = DEFAULT_PLATEAU_RULE,
  ) {}

  async handle(delivery: Pick<Delivery, 'data'>): Promise<void> {
    const event = decodeOrLogPoison(delivery, this.deps.logger);
    if (event?.type === 'model.published') await this.track(event);
  }

  /** The progress row for one published version; null when the run is unknown or it was already tracked. */
  async track(event: EventOf<'model.published'>): Promise<OrchestratorDecision | null> {
    const { runId, round } = event;
    const versionId = event.data.modelVersionId;
    const done = await this.deps.warehouse.query(RUN_PROGRESS_TABLE, {
      where: { runId, modelVersionId: versionId },
      limit: 1,
    });
    if (done.length > 0) return null;
    const run = await readRun(this.deps.documents, runId);
    if (!run) return null;

    const assessed = await assessRun(this.deps, run, round, this.rule);
    const { plateau, attendance, hospitalMetrics, latest } = assessed;
    const at = this.deps.clock.now().toISOString();
    let halted = false;
    if (plateau.converged && run.halt === null) {
      halted = await haltRunOnce(this.deps.documents, runId, {
        reason: `${plateau.trend === 'worsening' ? 'stopped' : 'converged'}: ${plateau.reason}`,
        by: ORCHESTRATOR_ACTOR,
        at,
      });
    }
    const current = halted ? await readRun(this.deps.documents, runId) : run;
    const summary = summaryOf(current ?? run, assessed, event.data.privacy);
    const row: RunProgressRow = {
      runId,
      round,
      modelVersionId: versionId,
      pooledAuroc: latest?.auroc ?? null,
      pooledLoss: latest?.loss ?? null,
      perHospital: hospitalMetrics.map((h) => {
        const a = attendance.find((x) => x.hospitalId === h.hospitalId);
        return {
          ...h,
          modelVersionId: latest?.modelVersionId ?? null,
          recent: a?.recent ?? [],
          flagged: a?.flagged ?? false,
        };
      }),
      converged: plateau.converged,
      lateHospitals: attendance.filter((a) => a.flagged).map((a) => a.hospitalId),
      summary,
      time: at,
    };
    logs.progressRecorded(this.deps.logger, runId, round, versionId, plateau.converged, plateau.reason);
    await this.deps.warehouse.insert(RUN_PROGRESS_TABLE, [row]);
    return { row, plateau, halted };
  }
}

/**
 * What the orchestrator knows of a run up to `round` (default: every round), read-only: the
 * pooled metrics per version, the plateau decision, attendance and the latest version's
 * per-hospital metrics. `track` records it when a version is published; `himas agents` asks it
 * afresh, so a finished run is described as finished, with its final evaluation.
 */
export async function assessRun(
  deps: Pick<AgentDeps, 'documents' | 'models'>,
  run: RunDocument,
  round = Number.MAX_SAFE_INTEGER,
  rule: PlateauRule = DEFAULT_PLATEAU_RULE,
): Promise<RunAssessment> {
  const versions = (await deps.models.list(run.runId)).filter((v) => v.round <= round);
  const history: VersionMetrics[] = versions
    .filter((v) => v.pooled !== null)
    .map((v) => ({
      round: v.round,
      modelVersionId: v.versionId,
      auroc: v.pooled?.metrics.auroc ?? null,
      loss: v.pooled?.metrics.loss ?? null,
      aurocNoise: halfWidth(v.pooled?.intervals.auroc),
      lossNoise: halfWidth(v.pooled?.intervals.loss),
    }));
  const plateau = checkPlateau(history, rule);
  const attendance = checkAttendance(await roundRecords(deps.documents, run.runId, round));
  const latest = history.at(-1);
  const evaluations = latest
    ? (await deps.documents.list(paths.evaluations(latest.modelVersionId))).map((s) =>
        HospitalEvaluationSchema.parse(s.data),
      )
    : [];
  const hospitalMetrics = run.hospitals.map((hospitalId) => {
    const e = evaluations.find((x) => x.hospitalId === hospitalId);
    // From the hospital's own noisy release (post-processing): noisier than the pooled figure.
    const m = e ? metricsFromHistogram(e.histogram) : null;
    return { hospitalId, auroc: m?.auroc ?? null, loss: m?.loss ?? null };
  });
  return {
    history,
    plateau,
    attendance,
    hospitalMetrics,
    latest,
    privacy: versions.at(-1)?.privacy ?? run.privacy,
  };
}

/** The run summary as of now (the template writer over `assessRun`), for a finished run too. */
export async function currentRunSummary(
  deps: Pick<AgentDeps, 'documents' | 'models'>,
  run: RunDocument,
): Promise<{ summary: string; plateau: PlateauDecision }> {
  const assessed = await assessRun(deps, run);
  return { summary: summaryOf(run, assessed, assessed.privacy), plateau: assessed.plateau };
}

async function roundRecords(
  documents: AgentDeps['documents'],
  runId: string,
  upToRound: number,
): Promise<RoundRecord[]> {
  const rounds = (await documents.list(paths.rounds(runId)))
    .map((s) => RoundDocumentSchema.parse(s.data))
    .filter((r) => r.round <= upToRound && (r.status === 'closed' || r.status === 'failed'));
  const records: RoundRecord[] = [];
  for (const r of rounds) {
    const receipts = (await documents.list(paths.updates(runId, r.round))).map((s) =>
      UpdateReceiptSchema.parse(s.data),
    );
    records.push({
      round: r.round,
      expectedHospitals: r.expectedHospitals,
      participants: r.participants,
      receipts: receipts.map(({ hospitalId, status }) => ({ hospitalId, status })),
    });
  }
  return records;
}

export interface RunAssessment {
  history: VersionMetrics[];
  plateau: PlateauDecision;
  attendance: ReturnType<typeof checkAttendance>;
  hospitalMetrics: { hospitalId: string; auroc: number | null; loss: number | null }[];
  latest: VersionMetrics | undefined;
  privacy: RunDocument['privacy'];
}

function summaryOf(run: RunDocument, a: RunAssessment, privacy: RunDocument['privacy']): string {
  return writeRunSummary({
    runId: run.runId,
    status: statusOf(run),
    plannedRounds: run.config.rounds,
    history: a.history,
    hospitalMetrics: a.hospitalMetrics,
    attendance: a.attendance,
    plateau: a.plateau,
    privacy,
    halt: run.halt,
  });
}

/** The run as the summary should call it: a run with a halt flag is halted even before the driver stops. */
function statusOf(run: RunDocument): 'running' | 'completed' | 'failed' | 'halted' {
  return run.halt !== null && run.status === 'running' ? 'halted' : run.status;
}

/** Half the width of a 95 % noise interval: how far the DP noise alone moves a figure. */
function halfWidth(interval: readonly [number, number] | null | undefined): number | null {
  return interval ? (interval[1] - interval[0]) / 2 : null;
}
