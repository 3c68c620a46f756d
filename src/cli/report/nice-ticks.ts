/**
 * Axis ticks at "nice" values (steps of 1, 2 or 5 × 10^k) that cover a data range, after
 * Heckbert, "Nice numbers for graph labels", Graphics Gems (1990).
 */
export interface Ticks {
  /** First tick, at or below the data minimum. */
  min: number;
  /** Last tick, at or above the data maximum. */
  max: number;
  step: number;
  values: number[];
}

export interface NiceTicksOptions {
  /** Roughly how many ticks to aim for (at least 2). */
  count?: number;
  /** Steps of at least 1, for axes that count things (rounds). */
  integer?: boolean;
}

/** The nice number (1, 2, 5 or 10 × 10^k) nearest to `value`, or at least `value` when not rounding. */
export function niceNumber(value: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(value));
  const magnitude = 10 ** exponent;
  const fraction = value / magnitude;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

export function niceTicks(dataMin: number, dataMax: number, options: NiceTicksOptions = {}): Ticks {
  const count = Math.max(2, options.count ?? 6);
  let lo = Number.isFinite(dataMin) ? dataMin : 0;
  let hi = Number.isFinite(dataMax) ? dataMax : 1;
  if (lo > hi) [lo, hi] = [hi, lo];
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  if (hi - lo <= Math.max(scale * 1e-9, 1e-12)) {
    // One value (or a span below display precision): open a window around it so the axis has a scale.
    const pad = options.integer || Math.abs(lo) < 1e-9 ? 1 : Math.abs(lo) * 0.1;
    hi = lo;
    lo -= pad;
    hi += pad;
  }
  const range = niceNumber(hi - lo, false);
  let step = niceNumber(range / (count - 1), true);
  if (options.integer) step = Math.max(1, step);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  // Rounding to the step's decimals removes floating-point dust (0.30000000000000004).
  const clean = (v: number): number => Number(v.toFixed(Math.min(20, decimals)));
  const min = clean(Math.floor(lo / step + 1e-9) * step);
  const max = clean(Math.ceil(hi / step - 1e-9) * step);
  const values: number[] = [];
  for (let i = 0; min + i * step <= max + step * 1e-9; i++) values.push(clean(min + i * step));
  return { min, max, step, values };
}
