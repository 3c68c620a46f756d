import {
  HospitalEvaluationSchema,
  paths,
  RoundDocumentSchema,
  UpdateReceiptSchema,
  type RunDocument,
} from '../../schemas/documents';
import {
  TrainingReportSchema,
  type ModelQuality,
  type RunOutcome,
  type TrainingReport,
} from '../../schemas/report';
import type { MetricIntervals, PooledQuality, RiskHistogram } from '../../schemas/metrics';
import { metricsFromHistogram } from '../core/evaluation/pooled-metrics';
import { mergeHistograms } from '../core/evaluation/risk-histogram';
import { hospitalIntervals } from '../services/evaluation-pooling';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';
import { hospitalLevelGuarantee } from '../services/privacy-guarantee';

/**
 * Builds report.json from what the store holds: the run, its rounds and receipts, and every model
 * version with the hospitals' own evaluations. Nothing here pools records; baselines (which do) are
 * added by the caller and labelled as simulation-only.
 */
export async function buildTrainingReport(input: {
  run: RunDocument;
  documents: DocumentStore;
  models: ModelRegistry;
  backend: string;
  hospitalSizes: Record<string, { trainStays: number | null; testStays: number | null }>;
  /** What the run produced; only its servable version becomes `finalModel`. */
  outcome: RunOutcome;
  finalModelDirectory: string | null;
  baselines: TrainingReport['baselines'];
  notes: string[];
}): Promise<TrainingReport> {
  const { run, documents, models } = input;
  const rounds: TrainingReport['rounds'] = [];
  for (const snapshot of await documents.list(paths.rounds(run.runId))) {
    const doc = RoundDocumentSchema.parse(snapshot.data);
    const receipts = (await documents.list(paths.updates(run.runId, doc.round))).map((s) =>
      UpdateReceiptSchema.parse(s.data),
    );
    const hospitals: TrainingReport['rounds'][number]['hospitals'] = {};
    for (const r of receipts)
      hospitals[r.hospitalId] = {
        trainLoss: r.trainLoss,
        status: r.status,
        reason: r.reason,
      };
    const closedRoundsSoFar = run.ledger.slice(0, closedCount(rounds) + (doc.status === 'closed' ? 1 : 0));
    rounds.push({
      round: doc.round,
      status: doc.status,
      seconds: doc.closedAt
        ? (new Date(doc.closedAt).getTime() - new Date(doc.openedAt).getTime()) / 1000
        : null,
      modelVersionId: doc.modelVersionId,
      participants: doc.participants,
      failureReason: doc.failureReason,
      hospitals,
      epsilon: hospitalLevelGuarantee(run.config, closedRoundsSoFar, 1).epsilon,
    });
  }

  const versions: TrainingReport['versions'] = [];
  for (const version of await models.list(run.runId)) {
    versions.push({
      versionId: version.versionId,
      round: version.round,
      quality: await versionQuality(documents, version.versionId, version.pooled),
    });
  }
  const served = versions.find((v) => v.versionId === input.outcome.modelVersionId);
  // The privacy figures of the served version, else of the last one the run made.
  const stating = await models.get(served?.versionId ?? versions.at(-1)?.versionId ?? '');
  const report: TrainingReport = {
    runId: run.runId,
    status: run.status,
    haltReason: run.halt?.reason ?? null,
    createdAt: run.createdAt,
    completedAt: run.completedAt,
    wallSeconds: run.completedAt
      ? (new Date(run.completedAt).getTime() - new Date(run.createdAt).getTime()) / 1000
      : null,
    backend: input.backend,
    config: run.config,
    dataSource: run.dataSource,
    hospitals: run.hospitals.map((hospitalId) => ({
      hospitalId,
      trainStays: input.hospitalSizes[hospitalId]?.trainStays ?? null,
      testStays: input.hospitalSizes[hospitalId]?.testStays ?? null,
    })),
    rounds,
    outcome: input.outcome,
    versions,
    finalModel: served
      ? { versionId: served.versionId, quality: served.quality, directory: input.finalModelDirectory }
      : null,
    privacy: run.privacy,
    hospitalPrivacy: stating?.hospitalPrivacy ?? [],
    baselines: input.baselines,
    notes: input.notes,
  };
  return TrainingReportSchema.parse(report);
}

function closedCount(rounds: TrainingReport['rounds']): number {
  return rounds.filter((r) => r.status === 'closed').length;
}

/** A version's quality from the hospitals' noisy releases: pooled with intervals, and per hospital. */
async function versionQuality(
  documents: DocumentStore,
  versionId: string,
  pooled: PooledQuality | null,
): Promise<ModelQuality | null> {
  const evaluations = (await documents.list(paths.evaluations(versionId))).map((s) =>
    HospitalEvaluationSchema.parse(s.data),
  );
  if (evaluations.length === 0 || !pooled) return null;
  const perHospital: ModelQuality['perHospital'] = {};
  const histograms: Record<string, RiskHistogram> = {};
  const intervals: Record<string, MetricIntervals> = {};
  for (const e of evaluations) {
    perHospital[e.hospitalId] = metricsFromHistogram(e.histogram);
    histograms[e.hospitalId] = e.histogram;
    intervals[e.hospitalId] = hospitalIntervals(versionId, e);
  }
  // The pooled figures are of the hospitals the version's pooled quality summed, no more.
  const summed = evaluations.filter((e) => pooled.hospitals.includes(e.hospitalId));
  return {
    pooled: pooled.metrics,
    perHospital,
    intervals: pooled.intervals,
    histograms: summed.length
      ? { pooled: mergeHistograms(summed.map((e) => e.histogram)), perHospital: histograms }
      : undefined,
    hospitalIntervals: intervals,
  };
}
