import { renderLineChart, type LineChartOptions } from '../../../../src/cli/report/svg-line-chart';
import { HOSTILE_ID } from './report-fixture';

function chart(series: LineChartOptions['series'], extra: Partial<LineChartOptions> = {}): string {
  return renderLineChart({
    id: 'test-chart',
    title: 'AUROC by round',
    xLabel: 'Round',
    yLabel: 'AUROC',
    series,
    integerX: true,
    ...extra,
  });
}

const count = (text: string, pattern: RegExp): number => (text.match(pattern) ?? []).length;

describe('renderLineChart', () => {
  it('draws one path per series, with axis labels, a legend and an accessible title', () => {
    const svg = chart([
      {
        name: 'Pooled',
        emphasis: true,
        points: [
          [0, 0.6],
          [1, 0.7],
          [2, 0.75],
        ],
      },
      {
        name: 'a',
        points: [
          [0, 0.55],
          [1, 0.68],
          [2, 0.74],
        ],
      },
      {
        name: 'b',
        points: [
          [0, 0.62],
          [1, 0.71],
          [2, 0.77],
        ],
      },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(count(svg, /<path\s+class="series-line"/g)).toBe(3);
    expect(svg).toContain('<title id="test-chart-title">AUROC by round</title>');
    expect(svg).toContain('aria-labelledby="test-chart-title test-chart-desc"');
    expect(svg).toContain('role="img"');
    expect(svg).toContain('>Round</text>');
    expect(count(svg, /class="legend-item"/g)).toBe(3);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('draws the emphasised (pooled) series last and thicker', () => {
    const svg = chart([
      {
        name: 'Pooled',
        emphasis: true,
        colour: '#111827',
        points: [
          [0, 0.6],
          [1, 0.7],
        ],
      },
      {
        name: 'a',
        colour: '#4e79a7',
        points: [
          [0, 0.5],
          [1, 0.6],
        ],
      },
    ]);
    const paths = [
      ...svg.matchAll(/<path\s+class="series-line"[^>]*stroke="([^"]+)" stroke-width="([^"]+)"/g),
    ];
    expect(paths.map((m) => m[1])).toEqual(['#4e79a7', '#111827']);
    expect(Number(paths[1][2])).toBeGreaterThan(Number(paths[0][2]));
  });

  it('breaks the line at a missing value and marks an isolated point', () => {
    const svg = chart(
      [
        {
          name: 'a',
          points: [
            [0, 0.5],
            [1, null],
            [2, 0.6],
            [3, 0.65],
          ],
        },
      ],
      { width: 400 },
    );
    const d = /<path\s+class="series-line" d="([^"]*)"/.exec(svg)?.[1] ?? '';
    expect(count(d, /M/g)).toBe(2);
    expect(count(d, /L/g)).toBe(1);
    expect(count(svg, /<circle /g)).toBe(3);
  });

  it('renders a single point and a chart with no data without throwing', () => {
    const one = chart([{ name: 'a', points: [[1, 0.7]] }]);
    expect(count(one, /<circle /g)).toBe(1);
    expect(one).not.toMatch(/NaN|Infinity/);
    const none = chart([{ name: 'a', points: [[1, null]] }]);
    expect(none).toContain('No data');
    expect(none).not.toMatch(/NaN|Infinity/);
    expect(chart([])).toContain('No data');
  });

  it('escapes series names and titles', () => {
    const svg = chart(
      [
        {
          name: HOSTILE_ID,
          points: [
            [0, 0.5],
            [1, 0.6],
          ],
        },
      ],
      { title: 'a < b & c' },
    );
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(svg).toContain('a &lt; b &amp; c');
  });

  it('wraps the legend of many series into rows and grows the chart to fit', () => {
    const series = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        name: `hospital-${i}`,
        points: [
          [0, 0.5 + i / 200],
          [1, 0.6],
        ] as [number, number][],
      }));
    const height = (svg: string): number => Number(/viewBox="0 0 \d+ (\d+)"/.exec(svg)?.[1]);
    const few = chart(series(3));
    const many = chart(series(50));
    expect(count(many, /<path\s+class="series-line"/g)).toBe(50);
    expect(height(many)).toBeGreaterThan(height(few));
    const legendYs = new Set(
      [...many.matchAll(/<g class="legend-item">.*?<line [^>]*y1="([\d.]+)"/g)].map((m) => m[1]),
    );
    expect(legendYs.size).toBeGreaterThan(3);
  });

  it('keeps y ticks inside hard limits', () => {
    const svg = chart(
      [
        {
          name: 'a',
          points: [
            [0, 0.97],
            [1, 1],
          ],
        },
      ],
      { yLimits: [0, 1] },
    );
    const labels = [...svg.matchAll(/text-anchor="end">([\d.]+)</g)].map((m) => Number(m[1]));
    expect(Math.max(...labels)).toBeLessThanOrEqual(1);
  });
});
