import {
  AuditRecordSchema,
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  UpdateReceiptSchema,
  HospitalEvaluationSchema,
  type AuditRecord,
  type ModelVersionDocument,
  type RoundDocument,
  type RunDocument,
} from '../../schemas/documents';
import type { RiskHistogram } from '../../schemas/metrics';
import { chooseServableVersion } from '../core/agents/servable-version';
import { mergeHistograms } from '../core/evaluation/risk-histogram';
import { readRunVerdict } from '../services/run-verdict';
import { clinicalSupportStatus, type ClinicalSupportStatus } from '../services/clinical-support-status';
import { describeGuarantee } from '../services/privacy-guarantee';
import { readHospitalLedgers, type HospitalLedgersView } from '../cli/privacy-ledger-view';
import {
  readSurveillanceTreatment,
  type SurveillanceTreatmentView,
} from '../cli/surveillance-treatment-view';
import type { ConsoleReadPorts, ConsoleStore } from './console-store';

/** What the console shows, as data: the pages render it and /api/* returns it as JSON. */

export type HospitalState = 'waiting' | 'submitted' | 'rejected' | 'dropped' | 'done';

export interface RunOverview {
  runId: string;
  status: RunDocument['status'];
  /** succeeded | halted | failed | diverged once finished; 'running' meanwhile. */
  outcome: string;
  outcomeReason: string | null;
  currentRound: number;
  rounds: number;
  createdAt: string;
  elapsedMs: number;
  /** The round under way (or the last one), each expected hospital's state in it. */
  hospitals: { hospitalId: string; state: HospitalState; detail: string | null }[];
  failures: string[];
}

async function readRuns(ports: ConsoleReadPorts): Promise<RunDocument[]> {
  return (await ports.documents.list(paths.runs()))
    .map((s) => RunDocumentSchema.parse(s.data))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.runId.localeCompare(b.runId));
}

async function readRounds(ports: ConsoleReadPorts, runId: string): Promise<RoundDocument[]> {
  return (await ports.documents.list(paths.rounds(runId))).map((s) => RoundDocumentSchema.parse(s.data));
}

export async function runsOverview(ports: ConsoleReadPorts, now: Date): Promise<RunOverview[]> {
  const runs = await readRuns(ports);
  const out: RunOverview[] = [];
  for (const run of runs.reverse()) out.push(await overviewOf(ports, run, now));
  return out;
}

async function overviewOf(ports: ConsoleReadPorts, run: RunDocument, now: Date): Promise<RunOverview> {
  const rounds = await readRounds(ports, run.runId);
  const current = rounds.at(-1);
  const verdict = run.status === 'running' ? null : await readRunVerdict(ports.documents, ports.models, run);
  const hospitals: RunOverview['hospitals'] = [];
  if (current) {
    const receipts = (await ports.documents.list(paths.updates(run.runId, current.round))).map((s) =>
      UpdateReceiptSchema.parse(s.data),
    );
    for (const hospitalId of current.expectedHospitals) {
      const receipt = receipts.find((r) => r.hospitalId === hospitalId);
      let state: HospitalState = current.status === 'open' ? 'waiting' : 'done';
      let detail: string | null = null;
      if (current.droppedHospitals.includes(hospitalId)) state = 'dropped';
      else if (receipt?.status === 'accepted') state = 'submitted';
      else if (receipt?.status === 'rejected') {
        state = 'rejected';
        detail = receipt.reason;
      }
      hospitals.push({ hospitalId, state, detail });
    }
  }
  const failures = rounds
    .filter((r) => r.status === 'failed')
    .map((r) => `round ${r.round} failed: ${r.failureReason ?? 'no reason recorded'}`);
  if (run.halt) failures.push(`halted by ${run.halt.by}: ${run.halt.reason}`);
  const end = run.completedAt ? Date.parse(run.completedAt) : now.getTime();
  return {
    runId: run.runId,
    status: run.status,
    outcome: verdict?.kind ?? 'running',
    outcomeReason: verdict?.reason ?? null,
    currentRound: run.currentRound,
    rounds: run.config.rounds,
    createdAt: run.createdAt,
    elapsedMs: end - Date.parse(run.createdAt),
    hospitals,
    failures,
  };
}

export interface CalibrationBin {
  predicted: number;
  observed: number;
  n: number;
}

export interface RunDetail {
  overview: RunOverview;
  run: RunDocument;
  rounds: RoundDocument[];
  versions: ModelVersionDocument[];
  /** One point per evaluated version: pooled (noisy) AUROC and loss with their 95 % intervals. */
  series: {
    round: number;
    versionId: string;
    auroc: number | null;
    aurocInterval: [number, number] | null;
    loss: number | null;
    lossInterval: [number, number] | null;
  }[];
  /** Reliability of the newest evaluated version, from the sum of the hospitals' noisy histograms. */
  calibration: { versionId: string; bins: CalibrationBin[]; noiseStd: number } | null;
  privacyStatements: string[];
}

export async function runDetail(
  ports: ConsoleReadPorts,
  runId: string,
  now: Date,
): Promise<RunDetail | null> {
  const data = await ports.documents.get(paths.run(runId));
  if (!data) return null;
  const run = RunDocumentSchema.parse(data);
  const rounds = await readRounds(ports, runId);
  const versions = await ports.models.list(runId);
  const series = versions
    .filter((v) => v.pooled)
    .map((v) => ({
      round: v.round,
      versionId: v.versionId,
      auroc: v.pooled!.metrics.auroc,
      aurocInterval: v.pooled!.intervals.auroc,
      loss: v.pooled!.metrics.loss,
      lossInterval: v.pooled!.intervals.loss,
    }));
  const evaluated = [...versions].reverse().find((v) => v.pooled);
  let calibration: RunDetail['calibration'] = null;
  if (evaluated) {
    const histograms = (await ports.documents.list(paths.evaluations(evaluated.versionId))).flatMap((s) => {
      const parsed = HospitalEvaluationSchema.safeParse(s.data);
      return parsed.success ? [parsed.data.histogram] : [];
    });
    if (histograms.length > 0)
      calibration = {
        versionId: evaluated.versionId,
        bins: reliabilityBins(mergeHistograms(histograms)),
        noiseStd: evaluated.pooled!.noiseStd,
      };
  }
  return {
    overview: await overviewOf(ports, run, now),
    run,
    rounds,
    versions,
    series,
    calibration,
    privacyStatements: run.privacy.map(describeGuarantee),
  };
}

/** Observed death rate per public risk bin (negative noisy counts read as zero, as the pooling does). */
export function reliabilityBins(h: RiskHistogram): CalibrationBin[] {
  return h.positives.flatMap((p, b) => {
    const positives = Math.max(0, p);
    const n = positives + Math.max(0, h.negatives[b]);
    if (n <= 0) return [];
    return [{ predicted: (h.cuts[b] + h.cuts[b + 1]) / 2, observed: positives / n, n }];
  });
}

export interface ModelRow {
  version: ModelVersionDocument;
  /** Served by clinical decision support now, refused (why), or passed over for a newer one. */
  serving: { state: 'served' | 'refused' | 'superseded'; reason: string | null };
  guarantees: string[];
}

export async function modelRows(ports: ConsoleReadPorts, runId?: string): Promise<ModelRow[]> {
  const runs = (await readRuns(ports)).filter((r) => runId === undefined || r.runId === runId);
  const rows: ModelRow[] = [];
  for (const run of runs.reverse()) {
    const versions = await ports.models.list(run.runId);
    const choice = chooseServableVersion(run.runId, versions, {
      haltedBy: run.halt?.by ?? null,
      reason: run.halt?.reason ?? null,
    });
    for (const version of [...versions].reverse()) {
      const passed = choice.ok ? choice.passedOver.find((p) => p.versionId === version.versionId) : undefined;
      let serving: ModelRow['serving'];
      if (!choice.ok) serving = { state: 'refused', reason: choice.reason };
      else if (choice.version.versionId === version.versionId) serving = { state: 'served', reason: null };
      else if (passed && version.round > choice.version.round)
        serving = { state: 'refused', reason: passed.reason }; // newer than the served one: halted
      else
        serving = { state: 'superseded', reason: passed?.reason ?? `${choice.version.versionId} is served` };
      rows.push({ version, serving, guarantees: version.privacy.map(describeGuarantee) });
    }
  }
  return rows;
}

export async function ledgersView(store: ConsoleStore, delta: number): Promise<HospitalLedgersView> {
  return readHospitalLedgers(store.ledgers, store.ledgerLocation, delta);
}

export interface AgentsView {
  run: RunDocument;
  clinical: ClinicalSupportStatus;
  surveillanceTreatment: SurveillanceTreatmentView;
}

export async function agentsView(ports: ConsoleReadPorts, runId: string): Promise<AgentsView | null> {
  const data = await ports.documents.get(paths.run(runId));
  if (!data) return null;
  const run = RunDocumentSchema.parse(data);
  return {
    run,
    clinical: await clinicalSupportStatus(ports.models, run),
    surveillanceTreatment: await readSurveillanceTreatment(ports.warehouse, run),
  };
}

export async function runIds(ports: ConsoleReadPorts): Promise<string[]> {
  return (await readRuns(ports)).map((r) => r.runId).reverse();
}

export interface AuditView {
  records: AuditRecord[];
  actions: string[];
  runIds: string[];
  total: number;
}

export async function auditView(
  ports: ConsoleReadPorts,
  filter: { runId?: string; action?: string; outcome?: string; limit: number },
): Promise<AuditView> {
  const all = (await ports.documents.list(paths.audits())).flatMap((s) => {
    const parsed = AuditRecordSchema.safeParse(s.data);
    return parsed.success ? [parsed.data] : [];
  });
  const selected = all
    .filter(
      (r) =>
        (filter.runId === undefined || r.runId === filter.runId) &&
        (filter.action === undefined || r.action === filter.action) &&
        (filter.outcome === undefined || r.outcome === filter.outcome),
    )
    .sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
  return {
    records: selected.slice(0, filter.limit),
    total: selected.length,
    actions: [...new Set(all.map((r) => r.action))].sort(),
    runIds: [...new Set(all.flatMap((r) => (r.runId ? [r.runId] : [])))].sort(),
  };
}
