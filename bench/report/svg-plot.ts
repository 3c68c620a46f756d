/**
 * A tiny SVG plotter for the benchmark report: line charts (linear or log axes) and grouped bar
 * charts with interval whiskers. Standalone files (xmlns set, no CSS classes, no scripts), so they
 * render as <img> on a repository page. Every piece of text goes through escapeXml.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Colour-blind-safe palette (Okabe & Ito 2008). */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

const WIDTH = 720;
const HEIGHT = 400;
const M = { left: 84, right: 20, top: 48, bottom: 92 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  logX?: boolean;
  logY?: boolean;
  /** Fixed linear y range (default: from the data, padded to zero). */
  yRange?: readonly [number, number];
}

export interface BarGroup {
  /** The category on the x axis (e.g. a hospital). */
  label: string;
  /** One bar per series, in series order; low/high draw a whisker. */
  bars: ReadonlyArray<{ value: number; low?: number; high?: number }>;
}

export interface BarChart {
  title: string;
  yLabel: string;
  seriesNames: readonly string[];
  groups: readonly BarGroup[];
  /** y axis range; default [0, max]. */
  yRange?: readonly [number, number];
}

const fmt = (v: number): string => String(Math.round(v * 10) / 10);

/** Tick label: 1e6 → "1M", 0.85 → "0.85". */
export function tickLabel(v: number): string {
  const abs = Math.abs(v);
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) if (abs >= size) return `${Number((v / size).toPrecision(3))}${suffix}`;
  return String(Number(v.toPrecision(3)));
}

function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const step =
    [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

interface Axis {
  map: (v: number) => number;
  ticks: number[];
}

function axis(values: number[], log: boolean, from: number, to: number, padToZero: boolean): Axis {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (log) {
    const ticks = logTicks(lo, hi);
    lo = ticks[0];
    hi = ticks[ticks.length - 1];
    if (lo === hi) hi = lo * 10;
    const t = (v: number) => (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    return { map: (v) => from + t(v) * (to - from), ticks };
  }
  if (padToZero) lo = Math.min(lo, 0);
  if (hi === lo) hi = lo + 1;
  const ticks = linearTicks(lo, hi);
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);
  return { map: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks };
}

function frame(title: string, yLabel: string, body: string[]): string {
  const plotMid = (M.top + HEIGHT - M.bottom) / 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="26" font-size="15" font-weight="bold" fill="#111111">${escapeXml(title)}</text>`,
    `<text transform="translate(18 ${fmt(plotMid)}) rotate(-90)" text-anchor="middle" fill="#333333">${escapeXml(yLabel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function yGrid(y: Axis): string[] {
  return y.ticks.map(
    (t) =>
      `<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${fmt(y.map(t))}" y2="${fmt(y.map(t))}" stroke="#e5e5e5"/>` +
      `<text x="${M.left - 6}" y="${fmt(y.map(t) + 4)}" text-anchor="end" fill="#444444">${escapeXml(tickLabel(t))}</text>`,
  );
}

function legend(names: readonly string[], dashed: readonly boolean[] = []): string[] {
  const out: string[] = [];
  let x = M.left;
  let row = 0;
  names.forEach((name, i) => {
    const w = 34 + name.length * 6.6;
    if (x + w > WIDTH - M.right && x > M.left) {
      row++;
      x = M.left;
    }
    const y = HEIGHT - M.bottom + 46 + row * 18;
    const dash = dashed[i] ? ' stroke-dasharray="6 4"' : '';
    out.push(
      `<line x1="${fmt(x)}" x2="${fmt(x + 22)}" y1="${y}" y2="${y}" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="3"${dash}/>` +
        `<text x="${fmt(x + 28)}" y="${y + 4}" fill="#333333">${escapeXml(name)}</text>`,
    );
    x += w;
  });
  return out;
}

export function renderLineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const x = axis(xs, chart.logX ?? false, M.left + 10, WIDTH - M.right - 10, false);
  const y = chart.yRange
    ? axis([...chart.yRange], false, HEIGHT - M.bottom, M.top, false)
    : axis(ys, chart.logY ?? false, HEIGHT - M.bottom, M.top, !chart.logY);
  const body = yGrid(y);
  body.push(
    ...x.ticks
      .filter((t) => x.map(t) >= M.left - 1 && x.map(t) <= WIDTH - M.right + 1)
      .map(
        (t) =>
          `<text x="${fmt(x.map(t))}" y="${HEIGHT - M.bottom + 18}" text-anchor="middle" fill="#444444">${escapeXml(tickLabel(t))}</text>`,
      ),
    `<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${HEIGHT - M.bottom}" y2="${HEIGHT - M.bottom}" stroke="#666666"/>`,
    `<text x="${(M.left + WIDTH - M.right) / 2}" y="${HEIGHT - M.bottom + 34}" text-anchor="middle" fill="#333333">${escapeXml(chart.xLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    const d = pts.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${fmt(x.map(px))},${fmt(y.map(py))}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1)
      body.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2.5"${dash}/>`);
    for (const [px, py] of pts) {
      body.push(
        `<circle cx="${fmt(x.map(px))}" cy="${fmt(y.map(py))}" r="3.5" fill="${colour}"><title>${escapeXml(`${s.name}: ${tickLabel(px)}, ${tickLabel(py)}`)}</title></circle>`,
      );
    }
  });
  body.push(
    ...legend(
      chart.series.map((s) => s.name),
      chart.series.map((s) => s.dashed ?? false),
    ),
  );
  return frame(chart.title, chart.yLabel, body);
}

export function renderBarChart(chart: BarChart): string {
  const values = chart.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.high ?? b.value]));
  const [lo, hi] = chart.yRange ?? [0, Math.max(...values.filter(Number.isFinite), 1)];
  const y = axis([lo, hi], false, HEIGHT - M.bottom, M.top, false);
  const body = yGrid(y);
  const plotWidth = WIDTH - M.left - M.right;
  const groupWidth = plotWidth / Math.max(chart.groups.length, 1);
  const barWidth = (groupWidth * 0.8) / Math.max(chart.seriesNames.length, 1);
  const clampY = (v: number) => y.map(Math.min(Math.max(v, y.ticks[0]), y.ticks[y.ticks.length - 1]));
  chart.groups.forEach((g, gi) => {
    const g0 = M.left + gi * groupWidth + groupWidth * 0.1;
    g.bars.forEach((b, bi) => {
      if (!Number.isFinite(b.value)) return;
      const x0 = g0 + bi * barWidth;
      const top = clampY(b.value);
      const tip = `${chart.seriesNames[bi] ?? ''} — ${g.label}: ${b.value.toFixed(3)}${b.low !== undefined && b.high !== undefined ? ` (${b.low.toFixed(3)}–${b.high.toFixed(3)})` : ''}`;
      body.push(
        `<rect x="${fmt(x0 + 1)}" y="${fmt(top)}" width="${fmt(barWidth - 2)}" height="${fmt(HEIGHT - M.bottom - top)}" fill="${PALETTE[bi % PALETTE.length]}"><title>${escapeXml(tip)}</title></rect>`,
      );
      if (b.low !== undefined && b.high !== undefined) {
        const cx = fmt(x0 + barWidth / 2);
        body.push(
          `<line x1="${cx}" x2="${cx}" y1="${fmt(clampY(b.low))}" y2="${fmt(clampY(b.high))}" stroke="#222222" stroke-width="1.5"/>`,
        );
      }
    });
    body.push(
      `<text x="${fmt(M.left + (gi + 0.5) * groupWidth)}" y="${HEIGHT - M.bottom + 18}" text-anchor="middle" fill="#333333">${escapeXml(g.label)}</text>`,
    );
  });
  body.push(
    `<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${HEIGHT - M.bottom}" y2="${HEIGHT - M.bottom}" stroke="#666666"/>`,
    ...legend(chart.seriesNames),
  );
  return frame(chart.title, chart.yLabel, body);
}
