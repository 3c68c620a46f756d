import { decimalsForStep, formatFixed } from './format';
import { markup, trustedHtml, type SafeHtml } from './html-escape';
import { niceTicks, type Ticks } from './nice-ticks';
import { seriesColour } from './series-colours';

/** One line: points are [x, y]; y null (or not finite) is a gap in the line. */
export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number | null]>;
  /** CSS colour; defaults to the series' position in the palette. */
  colour?: string;
  /** Drawn thicker and on top (the pooled line). */
  emphasis?: boolean;
}

export interface LineChartOptions {
  /** Unique within the page; used for the accessible title/description ids. Letters, digits, '-'. */
  id: string;
  title: string;
  description?: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Values the x axis covers even without data there (e.g. rounds 0..R). */
  xDomain?: readonly [number, number];
  /** Hard limits for the y axis (e.g. [0, 1] for AUROC); nice ticks never go past them. */
  yLimits?: readonly [number, number];
  integerX?: boolean;
  width?: number;
  plotHeight?: number;
}

const MARGIN = { left: 72, right: 24, top: 44 };
const X_AXIS_SPACE = 52;
const LEGEND_ROW = 20;
const LEGEND_CHAR_WIDTH = 6.9; // average advance of a 12px system sans-serif glyph
const LEGEND_MAX_CHARS = 32;
const FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const CHART_CSS = [
  '.line-chart text{fill:#374151}',
  '.line-chart .grid{stroke:#e5e7eb;stroke-width:1}',
  '.line-chart .axis{stroke:#6b7280;stroke-width:1}',
  '.line-chart .tick{fill:#4b5563}',
  '.line-chart .label{font-size:13px}',
  '.line-chart .chart-title{fill:#111827;font-size:15px;font-weight:600}',
  '.line-chart .no-data{fill:#9ca3af;font-size:16px}',
].join('');
const MARKERS_UP_TO = 60; // points per series; beyond, markers only where a point has no line

interface Point {
  x: number;
  y: number | null;
}

function cleanPoints(series: LineSeries): Point[] {
  return series.points
    .filter(([x]) => Number.isFinite(x))
    .map(([x, y]) => ({ x, y: y !== null && Number.isFinite(y) ? y : null }))
    .sort((a, b) => a.x - b.x);
}

function extent(values: number[], fallback: readonly [number, number]): [number, number] {
  return values.length === 0 ? [fallback[0], fallback[1]] : [Math.min(...values), Math.max(...values)];
}

function yTicks(values: number[], limits: readonly [number, number] | undefined): Ticks {
  const [lo, hi] = extent(values, limits ?? [0, 1]);
  const ticks = niceTicks(lo, hi, { count: 6 });
  if (!limits) return ticks;
  const min = Math.max(ticks.min, limits[0]);
  const max = Math.min(ticks.max, limits[1]);
  const inside = ticks.values.filter((v) => v >= min - 1e-12 && v <= max + 1e-12);
  return { ...ticks, min, max, values: inside };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function truncate(name: string): string {
  return name.length > LEGEND_MAX_CHARS ? `${name.slice(0, LEGEND_MAX_CHARS - 1)}…` : name;
}

interface LegendItem {
  series: LineSeries;
  colour: string;
  x: number;
  row: number;
}

/** Lays legend entries left to right and wraps them into rows that fit the width. */
function layoutLegend(
  series: readonly LineSeries[],
  colours: string[],
  left: number,
  right: number,
): LegendItem[] {
  const items: LegendItem[] = [];
  let x = left;
  let row = 0;
  series.forEach((s, i) => {
    const width = 24 + truncate(s.name).length * LEGEND_CHAR_WIDTH + 16;
    if (x + width > right && x > left) {
      row += 1;
      x = left;
    }
    items.push({ series: s, colour: colours[i], x, row });
    x += width;
  });
  return items;
}

/**
 * An SVG line chart as a string: axes with nice ticks and labels, gridlines, one <path> per series
 * (gaps where y is null), point markers with tooltips, and a legend that wraps. No scripts, no
 * external resources; the <svg> is meant to be inlined in an HTML page.
 */
export function renderLineChart(options: LineChartOptions): string {
  const width = options.width ?? 960;
  const plotHeight = options.plotHeight ?? 280;
  const plotLeft = MARGIN.left;
  const plotRight = width - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = plotTop + plotHeight;
  const plotWidth = plotRight - plotLeft;

  const colours = options.series.map((s, i) => s.colour ?? seriesColour(i));
  const points = options.series.map(cleanPoints);
  const xs = points.flat().map((p) => p.x);
  const ys = points.flat().flatMap((p) => (p.y === null ? [] : [p.y]));
  const [dataXMin, dataXMax] = extent(xs, options.xDomain ?? [0, 1]);
  const xMinWanted = Math.min(dataXMin, options.xDomain?.[0] ?? dataXMin);
  const xMaxWanted = Math.max(dataXMax, options.xDomain?.[1] ?? dataXMax);
  const xTicks = niceTicks(xMinWanted, xMaxWanted, { count: 10, integer: options.integerX });
  const yT = yTicks(ys, options.yLimits);

  const sx = (x: number): number =>
    round1(plotLeft + ((x - xTicks.min) / (xTicks.max - xTicks.min)) * plotWidth);
  const sy = (y: number): number => round1(plotBottom - ((y - yT.min) / (yT.max - yT.min)) * plotHeight);
  const xDecimals = options.integerX ? 0 : decimalsForStep(xTicks.step);
  const yDecimals = decimalsForStep(yT.step);

  const legend = layoutLegend(options.series, colours, plotLeft, plotRight);
  const legendRows = legend.length === 0 ? 0 : legend[legend.length - 1].row + 1;
  const legendTop = plotBottom + X_AXIS_SPACE + 8;
  const height = legendTop + legendRows * LEGEND_ROW + 8;

  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  const description =
    options.description ??
    `${options.yLabel} against ${options.xLabel} for ${options.series.map((s) => s.name).join(', ')}.`;

  const grid = yT.values.map((v) => {
    const line = markup`<line class="grid" x1="${plotLeft}" x2="${plotRight}" y1="${sy(v)}" y2="${sy(v)}"/>`;
    const label = markup`<text class="tick" x="${plotLeft - 8}" y="${sy(v) + 4}" text-anchor="end">${v.toFixed(yDecimals)}</text>`;
    return markup`${line}${label}\n`;
  });
  const xAxisTicks = xTicks.values.map((v) => {
    const tick = markup`<line class="axis" x1="${sx(v)}" x2="${sx(v)}" y1="${plotBottom}" y2="${plotBottom + 5}"/>`;
    const label = markup`<text class="tick" x="${sx(v)}" y="${plotBottom + 19}" text-anchor="middle">${v.toFixed(xDecimals)}</text>`;
    return markup`${tick}${label}\n`;
  });

  // Emphasised series last so the pooled line sits on top of the hospitals.
  const drawOrder = options.series
    .map((_, i) => i)
    .sort((a, b) => Number(!!options.series[a].emphasis) - Number(!!options.series[b].emphasis));
  const lines = drawOrder.map((i) => renderSeries(options.series[i], points[i], colours[i], sx, sy));

  const legendItems = legend.map((item) => {
    const y = legendTop + item.row * LEGEND_ROW;
    const strokeWidth = item.series.emphasis ? 4 : 2.5;
    const weight = item.series.emphasis ? trustedHtml(' font-weight="600"') : '';
    const swatch = markup`<line x1="${item.x}" x2="${item.x + 18}" y1="${y}" y2="${y}" stroke="${item.colour}" stroke-width="${strokeWidth}" stroke-linecap="round"/>`;
    const label = markup`<text x="${item.x + 24}" y="${y + 4}"${weight}>${truncate(item.series.name)}</text>`;
    return markup`<g class="legend-item"><title>${item.series.name}</title>${swatch}${label}</g>\n`;
  });

  const noData =
    ys.length === 0
      ? markup`<text class="no-data" x="${(plotLeft + plotRight) / 2}" y="${(plotTop + plotBottom) / 2}" text-anchor="middle">No data</text>\n`
      : '';

  return markup`<svg class="line-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${titleId} ${descId}" font-family="${FONT_FAMILY}" font-size="12">
<title id="${titleId}">${options.title}</title>
<desc id="${descId}">${description}</desc>
<style>${trustedHtml(CHART_CSS)}</style>
<text class="chart-title" x="${plotLeft}" y="22">${options.title}</text>
${grid}<line class="axis" x1="${plotLeft}" x2="${plotRight}" y1="${plotBottom}" y2="${plotBottom}"/>
<line class="axis" x1="${plotLeft}" x2="${plotLeft}" y1="${plotTop}" y2="${plotBottom}"/>
${xAxisTicks}<text class="label" x="${(plotLeft + plotRight) / 2}" y="${plotBottom + 42}" text-anchor="middle">${options.xLabel}</text>
<text class="label" transform="translate(18 ${(plotTop + plotBottom) / 2}) rotate(-90)" text-anchor="middle">${options.yLabel}</text>
${noData}${lines}${legendItems}</svg>`.value;
}

function renderSeries(
  series: LineSeries,
  points: Point[],
  colour: string,
  sx: (x: number) => number,
  sy: (y: number) => number,
): SafeHtml {
  const commands: string[] = [];
  let previousDrawn = false;
  const isolated: boolean[] = points.map((p, i) => {
    if (p.y === null) return false;
    const before = i > 0 && points[i - 1].y !== null;
    const after = i < points.length - 1 && points[i + 1].y !== null;
    return !before && !after;
  });
  for (const p of points) {
    if (p.y === null) {
      previousDrawn = false;
      continue;
    }
    commands.push(`${previousDrawn ? 'L' : 'M'}${sx(p.x)} ${sy(p.y)}`);
    previousDrawn = true;
  }
  const strokeWidth = series.emphasis ? 3.5 : 1.75;
  const radius = series.emphasis ? 3.5 : 2.5;
  const showAll = points.length <= MARKERS_UP_TO;
  const markers = points.map((p, i) =>
    p.y !== null && (showAll || isolated[i])
      ? markup`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="${radius}" fill="${colour}"><title>${series.name} — ${p.x}: ${formatFixed(p.y)}</title></circle>`
      : '',
  );
  const path = markup`<path class="series-line" d="${commands.join(' ')}" fill="none" stroke="${colour}" stroke-width="${strokeWidth}" stroke-linejoin="round" stroke-linecap="round"/>`;
  const group = series.emphasis ? 'series emphasis' : 'series';
  return markup`<g class="${group}"><title>${series.name}</title>${path}${markers}</g>\n`;
}
