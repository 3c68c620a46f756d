import type { Summary } from '../statistics';
import { tickLabel } from './svg-plot';

/** Number formats and the markdown table every section of docs/benchmarks.md uses. */
export const ms = (s: number) => (s * 1000 < 10 ? (s * 1000).toFixed(2) : (s * 1000).toFixed(1));
export const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`;
export const si = (x: number) => tickLabel(x);
export const range = (s: Summary, f: (x: number) => string) => `${f(s.q1)}–${f(s.q3)}`;
export const pLabel = (p: number) => `10^${Math.round(Math.log10(p))}`;
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
