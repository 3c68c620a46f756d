/** Numbers as people read them: few digits, ∞ for an unbounded ε, a dash for nothing. */
export function round(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return '∞';
  return value.toFixed(digits);
}

export function epsilon(value: number | null | undefined): string {
  if (value === null) return '∞';
  return round(value, 2);
}

export function delta(value: number): string {
  return value.toExponential(0);
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(digits)} %`;
}

export function interval(value: readonly [number, number] | null | undefined, digits = 2): string {
  return value ? `[${round(value[0], digits)}, ${round(value[1], digits)}]` : '';
}

/** 1 h 4 min, 3 min 12 s, 45 s. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
