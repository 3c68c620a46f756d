import type { Metrics } from '../../../../schemas/metrics';
import type { TrainingReport } from '../../../../schemas/report';
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

/** Series names and their colours, pooled first: one colour scale for every chart of a report. */
export function seriesPalette(
  ids: readonly string[],
  withPooled: boolean,
): { domain: string[]; range: string[] } {
  const domain = [...(withPooled ? [POOLED_NAME] : []), ...ids];
  const range = [...(withPooled ? [POOLED_COLOUR] : []), ...ids.map((_, i) => seriesColour(i))];
  return { domain, range };
}

export type VersionMetric = 'auroc' | 'loss';

/** One point of a line: a series' value at a round; null is a gap. */
export interface SeriesPoint {
  series: string;
  round: number;
  value: number | null;
  /** The 95 % interval of the DP noise (pooled figures from releases only). */
  interval: [number, number] | null;
}

function metricValue(metrics: Metrics | undefined, metric: VersionMetric): number | null {
  const value = metrics?.[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * A test-split metric of every model version, per hospital and pooled, against the version's
 * round (0 = the initial model). Versions nobody evaluated are left out; a hospital missing from
 * an evaluated version is a gap.
 */
export function versionMetricPoints(report: TrainingReport, metric: VersionMetric): SeriesPoint[] {
  const evaluated = report.versions.flatMap((v) =>
    v.quality ? [{ round: v.round, quality: v.quality }] : [],
  );
  const pooled = evaluated.map((v): SeriesPoint => ({
    series: POOLED_NAME,
    round: v.round,
    value: metricValue(v.quality.pooled, metric),
    interval: v.quality.intervals?.[metric] ?? null,
  }));
  const hospitals = reportHospitalIds(report).flatMap((id) =>
    evaluated.map((v): SeriesPoint => ({
      series: id,
      round: v.round,
      value: metricValue(v.quality.perHospital[id], metric),
      interval: v.quality.hospitalIntervals?.[id]?.[metric] ?? null,
    })),
  );
  return [...pooled, ...hospitals];
}

/** The last local epoch's training loss of every hospital in every round; absent = gap. */
export function trainLossPoints(report: TrainingReport): SeriesPoint[] {
  return reportHospitalIds(report).flatMap((id) =>
    report.rounds.map((r): SeriesPoint => ({
      series: id,
      round: r.round,
      value: r.hospitals[id]?.trainLoss ?? null,
      interval: null,
    })),
  );
}

/** Rounds the x axes span: 0 (initial model) to the last round, at least one step wide. */
export function roundDomain(report: TrainingReport): [number, number] {
  const last = Math.max(0, ...report.rounds.map((r) => r.round), ...report.versions.map((v) => v.round));
  return [0, Math.max(1, last)];
}
