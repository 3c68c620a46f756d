import type { Metrics } from '../../schemas/metrics';

export const fmt = (value: number | null | undefined, digits = 3): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);

export const METRICS_HEADER = `${'AUROC'.padStart(7)} ${'AUPRC'.padStart(7)} ${'Brier'.padStart(7)} ${'O:E'.padStart(6)} ${'slope'.padStart(6)} ${'n'.padStart(6)}`;

export function metricsRow(label: string, m: Metrics | undefined, width = 24): string {
  if (!m) return `  ${label.padEnd(width)} ${'(no evaluation)'}`;
  return `  ${label.padEnd(width)} ${fmt(m.auroc).padStart(7)} ${fmt(m.auprc).padStart(7)} ${fmt(m.brier).padStart(7)} ${fmt(m.observedExpectedRatio, 2).padStart(6)} ${fmt(m.calibrationSlope, 2).padStart(6)} ${String(m.n).padStart(6)}`;
}
