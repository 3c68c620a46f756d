/**
 * Colours for chart series. The first nine are Tableau 10 without its grey (grey and near-black
 * are kept for the pooled line); beyond them hues step by the golden angle with alternating
 * lightness, which keeps ~50 hospitals distinguishable from their neighbours.
 */
const CATEGORICAL = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];

/** The pooled (all hospitals) series: dark, drawn thicker and on top. */
export const POOLED_COLOUR = '#111827';

export function seriesColour(index: number): string {
  if (index < CATEGORICAL.length) return CATEGORICAL[index];
  const k = index - CATEGORICAL.length;
  const hue = Math.round((k * 137.508 + 20) % 360);
  const lightness = [42, 58, 34][k % 3];
  return `hsl(${hue}, 65%, ${lightness}%)`;
}
