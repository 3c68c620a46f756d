import type { PlotOptions } from '@observablehq/plot';

/** The numbers behind a chart as a table: its text alternative, formatted for people. */
export interface ChartTable {
  caption: string;
  /** Column headers; the first column heads the row headers. */
  columns: string[];
  /** One row per entry: the first cell is the row's header. */
  rows: string[][];
}

/** A fact shown next to a chart (O:E beside a reliability diagram); `flagged` marks it off target. */
export interface ChartFact {
  text: string;
  flagged: boolean;
  /** Why it is flagged, for the tooltip. */
  flagReason?: string;
}

/**
 * A chart as data: Observable Plot options (no `document`: the renderer supplies one) and the
 * accessible text around it. The report renders it to SVG on the server; the web console can hand
 * `plot` to Plot in the browser and reuse the same title, description and table.
 */
export interface ChartSpec {
  /** Unique within a page: letters, digits, '-'. */
  id: string;
  title: string;
  /** What the chart shows, for screen readers (the SVG's <desc>). */
  description: string;
  /** What a reader should know to read it right (noise, gaps, the ideal). */
  caption: string;
  facts: ChartFact[];
  plot: PlotOptions;
  table: ChartTable;
}
