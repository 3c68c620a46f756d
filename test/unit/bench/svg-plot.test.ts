import { escapeXml, renderBarChart, renderLineChart, tickLabel } from '../../../bench/report/svg-plot';

const HOSTILE = `h1 <script>alert("x")</script> & 'co'`;

/** A minimal well-formedness check: every tag closes in order, attributes are quoted, no raw '&'. */
function assertWellFormed(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = match;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
  // Every '<' starts a tag the pattern above understood.
  const tags = svg.match(/</g)?.length ?? 0;
  const parsed = [...svg.matchAll(/<\/?[a-zA-Z]+(?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<]*")*\s*\/?>/g)].length;
  expect(parsed).toBe(tags);
}

describe('bench SVG plots', () => {
  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<a & "b" 'c'>`)).toBe('&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;');
  });

  it('draws a log-log line chart as well-formed standalone SVG with escaped names', () => {
    const svg = renderLineChart({
      title: `Throughput ${HOSTILE}`,
      xLabel: 'K',
      yLabel: 'params/s',
      logX: true,
      logY: true,
      series: [
        {
          name: HOSTILE,
          points: [
            [3, 1e7],
            [30, 2e7],
            [300, 3e7],
          ],
        },
        {
          name: 'floor',
          dashed: true,
          points: [
            [3, 1e9],
            [30, 1e9],
          ],
        },
      ],
    });
    assertWellFormed(svg);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('h1 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;co&apos;');
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
  });

  it('draws grouped bars with whiskers as well-formed SVG', () => {
    const svg = renderBarChart({
      title: 'AUROC',
      yLabel: 'AUROC',
      seriesNames: ['centralized', HOSTILE],
      yRange: [0.5, 1],
      groups: [
        { label: HOSTILE, bars: [{ value: 0.8, low: 0.78, high: 0.82 }, { value: 0.85 }] },
        { label: 'pooled', bars: [{ value: 0.9, low: 0.88, high: 0.92 }, { value: NaN }] },
      ],
    });
    assertWellFormed(svg);
    expect(svg).not.toContain('<script>');
    expect(svg.match(/<rect x=/g)).toHaveLength(3); // the NaN bar is left out
  });

  it('labels ticks with SI suffixes', () => {
    expect(tickLabel(1e6)).toBe('1M');
    expect(tickLabel(25000)).toBe('25k');
    expect(tickLabel(0.85)).toBe('0.85');
  });
});
