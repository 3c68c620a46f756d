import type { BenchResults } from '../results';
import { mib, ms, pct, range, table } from './format';
import { tailSlope } from './summary-sections';
import { renderLineChart } from './svg-plot';

export function orchestrationSvgs(r: BenchResults): Record<string, string> {
  const o = r.orchestration;
  if (!o || o.scaling.length === 0) return {};
  return {
    'orchestration-scaling.svg': renderLineChart({
      title: 'One federated round vs hospitals K, embedded stack (tiny local work)',
      xLabel: 'hospitals K (log)',
      yLabel: 'seconds (log)',
      logX: true,
      logY: true,
      series: [
        { name: 'round time', points: o.scaling.map((s) => [s.hospitals, s.roundSeconds]) },
        {
          name: 'overhead (no job running)',
          points: o.scaling.filter((s) => s.overheadSeconds > 0).map((s) => [s.hospitals, s.overheadSeconds]),
        },
        {
          name: 'hospital jobs (first start → last end)',
          dashed: true,
          points: o.scaling.map((s) => [s.hospitals, s.trainingSpanSeconds]),
        },
      ],
    }),
  };
}

/** "Orchestration": per-round overhead and one round's scaling with K (docs/benchmarks.md). */
export function orchestrationSection(r: BenchResults): string[] {
  const o = r.orchestration;
  if (!o) return [];
  const ov = o.overhead;
  const tail = tailSlope(o.scaling);
  const fit = (f: typeof o.roundTimeGrowth, what: string) =>
    f
      ? `${what} grows as **K^${f.exponent.toFixed(2)}** (least-squares slope on log-log over ${f.points} values of K, R² = ${f.rSquared.toFixed(3)})`
      : `${what}: too few points for a growth exponent`;
  const lines = [
    '## Orchestration: per-round overhead and scaling with hospitals',
    '',
    `**Setup (what is real, what is simulated):** ${o.setup}`,
    '',
    '**Per-round overhead** = round time − the hospitals’ training time. Round time: from the round document’s `openedAt` to the next',
    'round’s `openedAt` (the last round: to the first evaluation job’s start) — announcing, running the jobs, aggregating, closing, the',
    'workflow’s poll and its bookkeeping. Training time: from the first training job’s start to the last one’s end (in process the jobs',
    'share one thread, so this span is the slowest hospital’s wall time; on Cloud Run it would be the slowest job). The overhead is the',
    'part of the round when no hospital job is running.',
    '',
    table(
      ['figure', `median over rounds 2–${ov.rounds + 1} (q1–q3), ms`],
      [
        ['round time', `${ms(ov.cycleSeconds.median)} (${range(ov.cycleSeconds, ms)})`],
        [
          'hospital jobs (first start → last end)',
          `${ms(ov.trainingSpanSeconds.median)} (${range(ov.trainingSpanSeconds, ms)})`,
        ],
        ['**overhead**', `**${ms(ov.overheadSeconds.median)}** (${range(ov.overheadSeconds, ms)})`],
        ['… round opened → first job starts', ms(ov.dispatchSeconds.median)],
        ['… last job ends → aggregator closes the round', ms(ov.closeSeconds.median)],
        ['… round closed → next round opens', ms(ov.afterCloseSeconds.median)],
        [
          'overhead share of the round',
          `${pct(ov.overheadShare.median)} (${range(ov.overheadShare, (x) => pct(x))})`,
        ],
      ],
    ),
    '',
    `K = ${ov.hospitals} hospitals, ${ov.rounds + 1} rounds in one run; round 1 is left out (first-use costs: JIT, model compilation).`,
    'The emulator stack (Pub/Sub and Firestore emulators) is measured separately (round latency on emulators).',
    '',
    '**Scaling of one round with K hospitals** (each K a two-round run in a fresh child process, round 2 timed; peak memory =',
    '`process.resourceUsage().maxRSS` of that process, i.e. the peak resident set size of the whole run; “start” is the same before the',
    'platform opened, with tsx, TensorFlow.js and DuckDB loaded):',
    '',
    '![One round vs hospitals](benchmarks/orchestration-scaling.svg)',
    '',
    table(
      [
        'K',
        'one round s',
        'jobs s',
        'overhead s',
        'opened → first job s',
        'last job → closed s',
        'closed → next s',
        'per hospital ms',
        'whole run s',
        'peak RSS (start)',
      ],
      o.scaling.map((s) => [
        String(s.hospitals),
        s.roundSeconds.toFixed(2),
        s.trainingSpanSeconds.toFixed(2),
        s.overheadSeconds.toFixed(2),
        s.dispatchSeconds.toFixed(2),
        s.closeSeconds.toFixed(2),
        s.afterCloseSeconds.toFixed(2),
        ms(s.roundSeconds / s.hospitals),
        s.workflowSeconds.toFixed(1),
        `${mib(s.peakRssBytes)} (${mib(s.startRssBytes)})`,
      ]),
    ),
    '',
    `- ${fit(o.roundTimeGrowth, 'One round’s time')}` +
      (tail ? `; between K = ${tail.from} and ${tail.to} alone the slope is ${tail.slope.toFixed(2)}.` : '.'),
    `- ${fit(o.memoryGrowth, 'Peak RSS above the start')}.`,
    ...o.skipped.map((s) => `- Not measured: K = ${s.hospitals} — ${s.reason}.`),
    '',
  ];
  if (o.profile) {
    const p = o.profile;
    lines.push(
      `**Where the time goes** (CPU profile of the whole K = ${p.hospitals} run, sampled every 1 ms, self time; that round: ` +
        `${p.roundTiming.cycleSeconds.toFixed(2)} s, of which ${p.roundTiming.closeSeconds.toFixed(2)} s between the last job and the round closing): ` +
        p.summary.components
          .filter((c) => c.share >= 0.02)
          .map((c) => `${c.component} ${pct(c.share, 0)}`)
          .join(', ') +
        '. Hottest: ' +
        p.summary.hottest
          .slice(0, 5)
          .map((h) => `\`${h.fn}\` ${pct(h.share, 0)}`)
          .join(', ') +
        '.',
      '',
    );
  }
  return lines;
}
