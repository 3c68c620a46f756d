import { domLibrary, plotLibrary } from './chart-library';
import type { ChartSpec } from './chart-spec';

/** Class of every chart Plot draws for HIMAS; Plot derives its scoped style names from it. */
export const PLOT_CLASS = 'himas-plot';

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

/**
 * A chart as markup, drawn by Observable Plot on the server into linkedom's DOM: an <svg> (inside
 * a <figure> with Plot's swatches when the chart has a legend) that needs no script, no network and
 * prints as it shows. The chart's <svg> is an image labelled by its <title> and described by its
 * <desc>; the legend's swatches are hidden from screen readers, their names are text.
 */
export function renderChartSvg(spec: ChartSpec): string {
  const { document } = domLibrary().parseHTML('<!DOCTYPE html><html><body></body></html>');
  const chart = plotLibrary().plot({
    ...spec.plot,
    className: PLOT_CLASS,
    style: { fontSize: '12px', fontFamily: FONT, ...(spec.plot.style as object | undefined) },
    document: document as unknown as Document,
  });
  const svg = chart.tagName.toLowerCase() === 'svg' ? chart : chart.querySelector(`svg.${PLOT_CLASS}`)!;
  for (const swatch of Array.from(chart.querySelectorAll(`.${PLOT_CLASS}-swatch svg`)))
    swatch.setAttribute('aria-hidden', 'true');
  const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
  title.setAttribute('id', `${spec.id}-title`);
  title.textContent = spec.title;
  const desc = document.createElementNS('http://www.w3.org/2000/svg', 'desc');
  desc.setAttribute('id', `${spec.id}-desc`);
  desc.textContent = spec.description;
  svg.insertBefore(desc, svg.firstChild);
  svg.insertBefore(title, desc);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', `${spec.id}-title`);
  svg.setAttribute('aria-describedby', `${spec.id}-desc`);
  svg.setAttribute('id', spec.id);
  return chart.outerHTML;
}
