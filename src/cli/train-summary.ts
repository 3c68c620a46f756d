import * as path from 'node:path';
import type { TrainingReport } from '../../schemas/report';
import { describeGuarantee } from '../services/privacy-guarantee';
import { exitCode, type ExitReason } from './exit-codes';
import { METRICS_HEADER, fmt, metricsRow } from './format-metrics';
import { localOnlyWins } from './baseline-comparison';

/** The exit code of a finished `himas train`: 0 only when the run left a model to serve. */
export function trainExitCode(report: TrainingReport): number {
  const reason: Record<TrainingReport['outcome']['kind'], ExitReason> = {
    succeeded: 'ok',
    halted: 'halted',
    failed: 'failed',
    diverged: 'diverged',
    running: 'failed',
  };
  return exitCode(reason[report.outcome.kind]);
}

const HEADLINE: Record<TrainingReport['outcome']['kind'], string> = {
  succeeded: 'completed',
  halted: 'HALTED',
  failed: 'FAILED',
  diverged: 'DIVERGED',
  running: 'DID NOT FINISH',
};

/**
 * What `himas train` prints on stdout when the run ends. Only a run that left a model to serve
 * shows a "Final model"; any other says so first, with why, and presents nothing as final.
 */
export function trainSummary(report: TrainingReport, outDir: string): string {
  const lines: string[] = [''];
  const { outcome } = report;
  const served = outcome.kind === 'succeeded';
  lines.push(
    `Run ${report.runId} ${HEADLINE[outcome.kind]} in ${fmt(report.wallSeconds, 1)} s on the ${report.backend} backend: ${outcome.reason}`,
  );
  if (!served) lines.push('No model to serve: nothing in the run folder is a final model.');
  const final = report.finalModel;
  if (final) {
    lines.push(
      `Final model ${final.versionId}${final.directory ? ` → ${path.relative(process.cwd(), final.directory) || final.directory}` : ''}`,
    );
    lines.push(...qualityTable(report, final.quality));
  } else if (outcome.divergedVersionId) {
    const last = report.versions.find((v) => v.versionId === outcome.divergedVersionId);
    lines.push(`Last version ${outcome.divergedVersionId} (not served: it diverged)`);
    lines.push(...qualityTable(report, last?.quality ?? null));
  }
  if (report.baselines.length > 0) {
    lines.push(
      'Comparison on the same test stays (simulation only: central and local-only pool or isolate records):',
    );
    for (const b of report.baselines) {
      const per = report.hospitals
        .map((h) => `${h.hospitalId} ${fmt(b.quality.perHospital[h.hospitalId]?.auroc)}`)
        .join(', ');
      lines.push(`  ${b.name.padEnd(18)} pooled AUROC ${fmt(b.quality.pooled.auroc)}   (${per})`);
    }
    const federated = report.baselines.find((b) => b.name === 'federated (exact)');
    const local = report.baselines.find((b) => b.name === 'local-only');
    const wins =
      federated && local
        ? localOnlyWins(
            federated.quality,
            local.quality,
            report.hospitals.map((h) => h.hospitalId),
          )
        : [];
    for (const w of wins)
      lines.push(
        `  note: ${w.hospitalId}'s own test stays are ranked better by its local-only model (AUROC ${fmt(w.local)}) than by the federated one (${fmt(w.federated)})`,
      );
  }
  for (const g of report.privacy)
    lines.push(
      `Privacy: ${describeGuarantee(g)}${g.unit === 'hospital' && g.steps === 0 ? ' (no model version was released)' : ''}`,
    );
  for (const h of report.hospitalPrivacy)
    lines.push(
      `  ${h.hospitalId.padEnd(22)} patient-level ε = ${eps(h.run.epsilon)} this run (train split ${eps(h.run.train)}, test split ${eps(h.run.test)}), lifetime ε = ${eps(h.lifetime.epsilon)} of ${h.budgetEpsilon}, δ = ${h.delta}`,
    );
  lines.push(
    `Report: ${path.join(path.relative(process.cwd(), outDir) || '.', 'report.html')} (and report.json)`,
  );
  return `${lines.join('\n')}\n`;
}

function qualityTable(
  report: TrainingReport,
  quality: NonNullable<TrainingReport['finalModel']>['quality'],
): string[] {
  const auroc = quality?.intervals?.auroc;
  return [
    `  ${'test split (DP-noised)'.padEnd(WIDTH)} ${METRICS_HEADER}`,
    ...report.hospitals.map((h) => metricsRow(h.hospitalId, quality?.perHospital[h.hospitalId], WIDTH)),
    metricsRow('pooled (noisy histograms)', quality?.pooled, WIDTH),
    ...(auroc ? [`  pooled AUROC 95 % interval of the DP noise: ${fmt(auroc[0])}–${fmt(auroc[1])}`] : []),
  ];
}

const WIDTH = 26;
const eps = (x: number | null) => (x === null ? '∞' : x.toFixed(3));
