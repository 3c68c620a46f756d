/** How numbers read in report.html: one place, so tables, charts and headers agree. */

/** Shown for a value that is null or not a finite number. */
export const MISSING = '—';

function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Metric values (AUROC, loss, ...) with a fixed number of decimals, 3 by default. */
export function formatFixed(value: number | null | undefined, decimals = 3): string {
  return isNumber(value) ? value.toFixed(decimals) : MISSING;
}

/** Counts with thousands separators that do not depend on the machine's locale: 12,345. */
export function formatInteger(value: number | null | undefined): string {
  if (!isNumber(value)) return MISSING;
  const [whole, fraction] = String(Math.abs(value)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 ? '-' : ''}${grouped}${fraction ? `.${fraction}` : ''}`;
}

/** A fraction as a percentage: 0.1234 → 12.3%. */
export function formatPercent(fraction: number | null | undefined, decimals = 1): string {
  return isNumber(fraction) ? `${(fraction * 100).toFixed(decimals)}%` : MISSING;
}

/** Durations: 8.4 s, 3 min 07 s, 2 h 05 min. */
export function formatDuration(seconds: number | null | undefined): string {
  if (!isNumber(seconds)) return MISSING;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours === 0) return `${minutes} min ${String(rest).padStart(2, '0')} s`;
  return `${hours} h ${String(minutes).padStart(2, '0')} min`;
}

/** ε with 3 decimals; null means no guarantee, which HIMAS states as ∞. */
export function formatEpsilon(epsilon: number | null): string {
  return epsilon === null ? '∞' : formatFixed(epsilon);
}

/** δ as people write it: 1e-5 rather than 0.00001. */
export function formatDelta(delta: number): string {
  return delta < 1e-3 ? delta.toExponential().replace('e+', 'e') : String(delta);
}

/** Decimals a tick label needs for a tick step of 1, 2 or 5 × 10^k: 0.05 → 2, 5 → 0. */
export function decimalsForStep(step: number): number {
  if (!isNumber(step) || step <= 0) return 0;
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}
