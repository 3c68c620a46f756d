/** The page's only stylesheet, inlined so report.html needs nothing but itself. */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1f2937; --muted: #6b7280; --border: #e5e7eb; --stripe: #f8fafc; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--fg); font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 24px 56px; }
h1 { font-size: 1.65rem; margin: 0 0 2px; line-height: 1.25; }
h1 .run-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; word-break: break-all; }
h2 { font-size: 1.25rem; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--border); }
h3 { font-size: 1rem; margin: 0 0 6px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
.subtitle { margin: 0 0 16px; color: var(--muted); }
.outcome { border-left: 6px solid; padding: 10px 14px; margin: 12px 0; }
.outcome-succeeded { border-color: #15803d; background: #f0fdf4; }
.outcome-halted, .outcome-failed, .outcome-diverged, .outcome-running { border-color: #b91c1c; background: #fef2f2; }
.guarantee.no-release { border-left-color: #9ca3af; background: #f9fafb; }
.run-facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px 24px; margin: 16px 0; }
.run-facts div { min-width: 0; }
.run-facts dt { font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.run-facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 0.8rem; font-weight: 600; border: 1px solid transparent; }
.badge-completed, .badge-closed { background: #dcfce7; color: #166534; border-color: #bbf7d0; }
.badge-running, .badge-open, .badge-aggregating { background: #dbeafe; color: #1e40af; border-color: #bfdbfe; }
.badge-failed { background: #fee2e2; color: #991b1b; border-color: #fecaca; }
.badge-halted { background: #fef3c7; color: #92400e; border-color: #fde68a; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid var(--border); }
thead th { border-bottom: 2px solid #cbd5e1; font-weight: 600; white-space: nowrap; }
tbody th { font-weight: 500; overflow-wrap: break-word; }
th .description { display: block; font-weight: 400; font-size: 0.82rem; color: var(--muted); max-width: 38em; }
thead th.group { text-align: center; border-bottom: 1px solid var(--border); }
.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--stripe); }
tr.pooled th, tr.pooled td { font-weight: 700; border-top: 2px solid #94a3b8; }
tr.reference th, tr.reference td { background: #eef2ff; }
tr.status-failed td { background: #fef2f2; }
td.per-hospital { font-size: 0.85rem; }
.guarantees { display: grid; gap: 14px; }
.guarantee { border-radius: 6px; padding: 14px 18px; border: 1px solid var(--border); border-left-width: 6px; }
.guarantee.has-guarantee { border-left-color: #15803d; background: #f0fdf4; }
.guarantee.no-guarantee { border-left-color: #b91c1c; background: #fef2f2; }
.guarantee .claim { font-size: 1.3rem; font-weight: 700; margin: 0 0 4px; }
.guarantee.no-guarantee .claim { color: #991b1b; }
.guarantee .meaning { margin: 0 0 10px; color: var(--muted); }
.guarantee .over-budget { color: #991b1b; font-weight: 600; margin: 0 0 10px; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 6px 20px; margin: 0; }
dl.facts dt { font-size: 0.78rem; color: var(--muted); }
dl.facts dd { margin: 0 0 4px; }
dl.facts div { min-width: 0; }
.sim-only { border-left: 4px solid #b45309; background: #fffbeb; padding: 8px 14px; margin: 0 0 12px; }
figure.chart { margin: 18px 0 30px; }
figure.chart { min-width: 0; }
figure.chart svg.himas-plot { width: 100%; height: auto; display: block; max-width: 100%; }
figure.chart figure { margin: 0; }
.himas-plot-swatches { font-size: 12px; }
ul.chart-facts { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 0.9rem; }
details.chart-data { margin-top: 6px; font-size: 0.88rem; }
details.chart-data table { margin-top: 6px; }
.chart-omitted { color: var(--muted); border-left: 4px solid var(--border); padding: 4px 12px; }
.reliability-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 8px 24px; }
.reliability-grid figure.chart { margin: 8px 0 18px; }
details summary { cursor: pointer; }
figure.chart > figcaption { font-weight: 600; margin: 0 0 4px; }
.chart-caption { color: var(--muted); font-size: 0.88rem; margin: 4px 0; }
dl.config { display: grid; grid-template-columns: max-content 1fr; gap: 4px 20px; margin: 0; font-size: 0.92rem; }
dl.config dt code { color: #334155; }
dl.config dd { margin: 0; }
ul.notes { padding-left: 20px; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.82rem; border-top: 1px solid var(--border); padding-top: 10px; }
.off-target { color: #b91c1c; font-weight: 600; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  figure.chart, .guarantee, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .table-wrap { overflow: visible; }
  details > *:not(summary) { display: block; }
}
`;
