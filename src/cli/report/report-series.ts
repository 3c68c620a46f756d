import type { Metrics } from '../../../schemas/metrics';
import type { TrainingReport } from '../../../schemas/report';
import type { LineSeries } from './svg-line-chart';
import { POOLED_COLOUR, seriesColour } from './series-colours';

/**
 * Hospital ids in the order the report lists them, followed by any id that only appears in rounds
 * or evaluations, so every chart and table gives a hospital the same colour and position.
 */
export function reportHospitalIds(report: TrainingReport): string[] {
  const ids = new Set(report.hospitals.map((h) => h.hospitalId));
  for (const version of report.versions)
    Object.keys(version.quality?.perHospital ?? {}).forEach((id) => ids.add(id));
  for (const round of report.rounds) Object.keys(round.hospitals).forEach((id) => ids.add(id));
  Object.keys(report.finalModel?.quality?.perHospital ?? {}).forEach((id) => ids.add(id));
  return [...ids];
}

export const POOLED_NAME = 'Pooled (all hospitals)';

type VersionMetric = 'auroc' | 'loss';

function metricValue(metrics: Metrics | undefined, metric: VersionMetric): number | null {
  return metrics?.[metric] ?? null;
}

/**
 * A test-split metric of every model version, per hospital and pooled, against the version's
 * round (0 = the initial model). Versions nobody evaluated are left out; a hospital missing from
 * an evaluated version is a gap.
 */
export function versionMetricSeries(report: TrainingReport, metric: VersionMetric): LineSeries[] {
  const evaluated = report.versions.flatMap((v) =>
    v.quality ? [{ round: v.round, quality: v.quality }] : [],
  );
  const pooled: LineSeries = {
    name: POOLED_NAME,
    colour: POOLED_COLOUR,
    emphasis: true,
    points: evaluated.map((v) => [v.round, metricValue(v.quality.pooled, metric)] as const),
  };
  const hospitals = reportHospitalIds(report).map((id, i): LineSeries => ({
    name: id,
    colour: seriesColour(i),
    points: evaluated.map((v) => [v.round, metricValue(v.quality.perHospital[id], metric)] as const),
  }));
  return [pooled, ...hospitals];
}

/** The last local epoch's training loss of every hospital in every round; absent = gap. */
export function trainLossSeries(report: TrainingReport): LineSeries[] {
  return reportHospitalIds(report).map((id, i): LineSeries => ({
    name: id,
    colour: seriesColour(i),
    points: report.rounds.map((r) => [r.round, r.hospitals[id]?.trainLoss ?? null] as const),
  }));
}

/** Rounds the x axes span: 0 (initial model) to the last round, at least one step wide. */
export function roundDomain(report: TrainingReport): [number, number] {
  const last = Math.max(0, ...report.rounds.map((r) => r.round), ...report.versions.map((v) => v.round));
  return [0, Math.max(1, last)];
}
