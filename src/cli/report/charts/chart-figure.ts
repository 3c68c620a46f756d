import { markup, trustedHtml, type SafeHtml } from '../html-escape';
import type { ChartSpec } from './chart-spec';
import { renderChartSvg } from './render-svg';

/**
 * A chart as report.html shows it: its title, the drawing, the facts a reader needs beside it, a note, and
 * the numbers as a table (the text alternative; folded on screen, printed open).
 */
export function renderChartFigure(spec: ChartSpec, className = 'chart'): SafeHtml {
  const facts =
    spec.facts.length === 0
      ? ''
      : markup`<ul class="chart-facts">
          ${spec.facts.map((f) =>
            f.flagged
              ? markup`<li class="off-target" title="${f.flagReason ?? ''}">${f.text} ⚠</li>`
              : markup`<li>${f.text}</li>`,
          )}
        </ul>`;
  return markup`<figure class="${className}" aria-labelledby="${spec.id}-caption">
    <figcaption id="${spec.id}-caption">${spec.title}</figcaption>
    ${trustedHtml(renderChartSvg(spec))}
    ${facts}
    <p class="chart-caption">${spec.caption}</p>
    <details class="chart-data">
      <summary>${spec.title}: the numbers</summary>
      <div class="table-wrap">
        <table>
          <caption>${spec.table.caption}</caption>
          <thead>
            <tr>
              ${spec.table.columns.map((c) => markup`<th scope="col">${c}</th>`)}
            </tr>
          </thead>
          <tbody>
            ${spec.table.rows.map(
              ([head, ...cells]) =>
                markup`<tr>
                  <th scope="row">${head}</th>
                  ${cells.map((c) => markup`<td class="num">${c}</td>`)}
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </details>
  </figure>`;
}
