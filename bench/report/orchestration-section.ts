import type { BenchResults } from '../results';
import type { EmulatorOverhead } from '../suites/orchestration-emulator';
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
    '',
    ...emulatorLines(o.emulator),
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
        s.timedRound === 1 ? `${s.hospitals}¹` : String(s.hospitals),
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
    ...(o.scaling.some((s) => s.timedRound === 1)
      ? [
          '¹ A one-round run, round 1 timed: a second round would not fit the time budget (quick mode from K = 100, --full from',
          'K = 1000); round 1 pays first-use costs (JIT, model compilation) of well under a second. The whole-run time includes the',
          'statistics and evaluation jobs.',
          '',
        ]
      : []),
    `- ${fit(o.roundTimeGrowth, 'One round’s time')}` +
      (tail ? `; between K = ${tail.from} and ${tail.to} alone the slope is ${tail.slope.toFixed(2)}.` : '.'),
    `- ${fit(o.memoryGrowth, 'Peak RSS above the start')}.`,
    ...o.skipped.map(
      (s) => `- Not measured: K = ${s.hospitals} — ${s.reason}.${extrapolation(o, s.hospitals)}`,
    ),
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

/** Per-round overhead of `himas train` on the embedded and the emulator stack, or why it is missing. */
function emulatorLines(e: EmulatorOverhead | undefined): string[] {
  const head = '**Per-round overhead on the emulator stack vs the embedded stack**';
  if (!e)
    return [
      `${head}: not measured in this run (it takes about 5 minutes: \`npm run bench -- --only orchestration\`).`,
      '',
    ];
  if (!e.measured) return [`${head}: ${e.reason}.`, ''];
  const s = (x: { median: number }) => x.median.toFixed(2);
  const row = (name: string, r: typeof e.embedded) => [
    name,
    `${s(r.roundSeconds)} (${range(r.roundSeconds, (x) => x.toFixed(2))})`,
    s(r.slowestTrainingSeconds),
    `${s(r.overheadSeconds)} (${range(r.overheadSeconds, (x) => x.toFixed(2))})`,
    r.commandSeconds.toFixed(0),
  ];
  return [
    `${head} (${e.setup}; median over ${e.embedded.rounds} and ${e.emulators.rounds} rounds, rounds 2.. of each run; round time = the round document’s \`openedAt\` → \`closedAt\`;`,
    'training = the slowest hospital’s `job.trained` seconds (the model fit alone), so job process start-up counts as overhead, as a',
    'Cloud Run job’s start-up would):',
    '',
    table(
      ['stack', 'round s (q1–q3)', 'slowest training s', '**overhead s** (q1–q3)', 'whole command s'],
      [
        row('embedded (DuckDB, in-process bus)', e.embedded),
        row('emulators (Pub/Sub + Firestore, functions-framework)', e.emulators),
      ],
    ),
    '',
    `Overhead on the emulators / embedded: **${e.ratio.toFixed(2)} ×**. The in-process figure above has no job process start-up,`,
    'which is most of the overhead in both rows here.',
    '',
  ];
}

/** Beyond the largest K measured: one round's time by the fit and by the tail slope (the steeper, recent growth). */
export function extrapolation(o: BenchResults['orchestration'], hospitals: number): string {
  const last = o.scaling[o.scaling.length - 1];
  if (!o.roundTimeGrowth || !last || hospitals <= last.hospitals) return '';
  const minutes = (seconds: number) => `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
  const byFit = o.roundTimeGrowth.coefficient * hospitals ** o.roundTimeGrowth.exponent;
  const tail = tailSlope(o.scaling);
  const byTail = tail ? last.roundSeconds * (hospitals / last.hospitals) ** tail.slope : undefined;
  return (
    ` Extrapolated from K = ${last.hospitals}: one round ≈ ${minutes(byFit)} by the fit (K^${o.roundTimeGrowth.exponent.toFixed(2)})` +
    (byTail !== undefined && tail
      ? `, ≈ ${minutes(byTail)} by the slope between K = ${tail.from} and ${tail.to} (K^${tail.slope.toFixed(2)})`
      : '') +
    '.'
  );
}
