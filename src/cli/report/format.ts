/** How numbers read in report.html: one place, so tables, charts and headers agree. */

/** Shown for a value that is null or not a finite number. */
export const MISSING = '—';

function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Figures for people: three significant digits, trailing zeros dropped (z = 5.51, q = 0.0853,
 * AUROC 0.829, O:E 1.36). Large values keep their integer digits (1,234.5 → 1,235).
 */
export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (!isNumber(value)) return MISSING;
  if (Math.abs(value) >= 10 ** digits) return formatInteger(Math.round(value));
  return String(Number(value.toPrecision(digits)));
}

/** A difference with its sign: +0.0123, -0.0051, 0. */
export function formatDifference(value: number | null | undefined): string {
  const text = formatNumber(value);
  return isNumber(value) && value > 0 ? `+${text}` : text;
}

/** An interval of two figures: 0.781–0.842. */
export function formatInterval(interval: readonly [number, number] | null | undefined): string {
  return interval ? `${formatNumber(interval[0])}–${formatNumber(interval[1])}` : MISSING;
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

/** An ISO timestamp to the second, in UTC: 2026-11-27 18:40:12 UTC (unparseable text is shown as it is). */
export function formatTimestamp(iso: string | null): string {
  if (iso === null) return MISSING;
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
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

/**
 * ε to three significant digits, rounded up so a printed guarantee is never stronger than the
 * accounted one (3.2174 → 3.22, 0.99912 → 1); null means no guarantee, which HIMAS states as ∞.
 */
export function formatEpsilon(epsilon: number | null): string {
  if (epsilon === null) return '∞';
  if (!isNumber(epsilon) || epsilon <= 0) return formatNumber(epsilon);
  const scale = 10 ** (Math.floor(Math.log10(epsilon)) - 2);
  // The 1e-9 keeps float dust (3.22 stored as 3.2200000000000002) from rounding up a whole step.
  return formatNumber(Math.ceil(epsilon / scale - 1e-9) * scale);
}

/** δ as people write it: 1e-5 rather than 0.00001. */
export function formatDelta(delta: number): string {
  return delta < 1e-3 ? delta.toExponential().replace('e+', 'e') : String(delta);
}
