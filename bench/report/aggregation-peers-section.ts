import type { BenchResults } from '../results';
import { floorPassLabel } from '../numpy-peer';
import type { PeerFigure } from '../suites/aggregation-peers';
import { ms, pct, pLabel, table } from './format';

/** GB/s of reading K·P float32 once in `seconds`. */
const gbPerSecond = (f: PeerFigure, seconds: number) => (f.hospitals * f.params * 4) / seconds / 1e9;

/** Which read pass set a case's floor, e.g. “a.view(int32).max(), huge pages”. */
const floorName = (f: PeerFigure) =>
  f.floorPass
    ? `${floorPassLabel(f.floorPass.pass)}, ${f.floorPass.pages === 'huge' ? 'huge pages' : '4 KiB pages'}`
    : 'float32 a.sum()';

/** docs/benchmarks.md: HIMAS DP-FedAvg against numpy's read pass and numpy's DP-FedAvg, side by side. */
export function aggregationPeersSection(r: BenchResults): string[] {
  const p = r.aggregationPeers;
  if (!p) return [];
  const x = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)}×`);
  const spread = (s: { q1: number; q3: number } | undefined, f: (v: number) => string) =>
    s === undefined ? '' : ` (${f(s.q1)}–${f(s.q3)})`;
  const target = p.figures.find((f) => f.hospitals === 30 && f.params === 1e6);
  return [
    '### Aggregation kernels against the machine’s floor and numpy, in the same run',
    '',
    'DP-FedAvg (`dpFedAvg(fedAvg)`: validate, clip to C, float64 sum, Gaussian noise from node:crypto,',
    'server step) on the SIMD kernels of `src/core/kernels` — WebAssembly SIMD assembled from bytes,',
    'up to 8 updates read at once, norms and clipped sum split with a second thread over the shared',
    'kernel memory, the noise (ziggurat on node:crypto words) drawn on a worker while the sum runs, the noise',
    'and the noisy average in reused kernel-memory work areas (averaged in place by SIMD), the new weights’',
    'pages faulted in while the helper sums — timed in',
    'one loop with two peers in a python3 process over the very same bytes: **the floor**, the fastest',
    'median of plain numpy read passes over the K·P float32 — float32 `a.max()`, `a.view(np.int32).max()`',
    'and float32 `a.sum()`, each on numpy’s own array (huge pages where numpy gets them) and on a 4 KiB-page',
    'copy (native SIMD; `sum` is pairwise summation, bound by its adds, so it rarely sets the floor) — and **numpy',
    'DP-FedAvg** written as Flower’s server-side fixed clipping does it (per update `np.linalg.norm`,',
    'scale by min(1, C/‖Δ‖), `reduce(np.add, …)`, `np.random.normal` noise of std z·C, ÷ m, + global;',
    'its noise is not from a CSPRNG, HIMAS’s is). Each repeat runs every lane once, the order',
    'rotating; ratios are of medians, with the q1–q3 of the per-repeat ratios.',
    '',
    p.numpyAbsent
      ? `**numpy columns empty: ${p.numpyAbsent}.** The bench installs nothing; install python3 and numpy to get the floor and the peer.`
      : `numpy ${p.numpyVersion}; numpy's arrays ${p.hugepages === true ? 'get transparent huge pages (madvise)' : p.hugepages === false ? 'do not get huge pages' : 'huge pages unknown'}. ` +
        '“4 KiB floor” is the fastest read pass over the copy made without huge pages — the kind of memory V8 gives JavaScript and WebAssembly.',
    '',
    ...(p.loadAverage
      ? [
          `Load average while measuring: ${p.loadAverage[0].toFixed(1)} at the start, ${p.loadAverage[1].toFixed(1)} at the end, on ${r.machine?.cores ?? '?'} cores` +
            (Math.max(...p.loadAverage) > 1.5
              ? ' — other jobs shared the machine, so absolute times are inflated and only the side-by-side ratios mean something, and they too are noisy: a lane descheduled mid-call loses. Check the floor’s GB/s: a read pass that ran far below the machine’s bandwidth makes “of floor” flatter HIMAS, and one that ran at full speed while HIMAS was descheduled makes it look worse (the floor has measured 12.6 GB/s and 27–31 GB/s for the same 120 MB on this machine on different days).'
              : '.'),
          '',
        ]
      : []),
    ...(target?.speedupOverNumpy !== undefined
      ? [
          `**K = 30, P = 10^6: ${x(target.speedupOverNumpy)} numpy (target ≥ 2×), ${pct(target.fractionOfFloor!)} of the floor (target ≥ 30 %).**`,
          '',
          `The floor there: ${floorName(target)}, ${ms(target.floorSeconds!.median)} ms (${gbPerSecond(target, target.floorSeconds!.median).toFixed(1)} GB/s). Every read pass (median ms, GB/s): ` +
            (target.floorPasses ?? [])
              .map(
                (f) =>
                  `${floorPassLabel(f.pass)} ${f.pages === 'huge' ? 'huge' : '4 KiB'} ${ms(f.seconds.median)} (${gbPerSecond(target, f.seconds.median).toFixed(1)})`,
              )
              .join('; ') +
            '.',
          '',
        ]
      : []),
    table(
      [
        'K',
        'P',
        'HIMAS ms',
        'M params/s',
        'numpy DP-FedAvg ms',
        '× numpy',
        'floor ms (GB/s)',
        'floor pass',
        'of floor',
        'of 4 KiB floor',
        'HIMAS, plain arrays ms',
        'load',
      ],
      p.figures.map((f) => [
        String(f.hospitals),
        pLabel(f.params),
        ms(f.himasSeconds.median),
        ((f.hospitals * f.params) / f.himasSeconds.median / 1e6).toFixed(0),
        f.numpySeconds ? ms(f.numpySeconds.median) : '—',
        `${x(f.speedupOverNumpy)}${spread(f.speedupOverNumpyPairs, (v) => v.toFixed(2))}`,
        f.floorSeconds
          ? `${ms(f.floorSeconds.median)} (${gbPerSecond(f, f.floorSeconds.median).toFixed(1)})`
          : '—',
        f.floorSeconds ? floorName(f) : '—',
        f.fractionOfFloor === undefined
          ? '—'
          : `${pct(f.fractionOfFloor)}${spread(f.fractionOfFloorPairs, (v) => pct(v, 0))}`,
        f.fractionOfFloor4k === undefined ? '—' : pct(f.fractionOfFloor4k),
        ms(f.himasPlainSeconds.median),
        f.loadAverage ? `${f.loadAverage[0].toFixed(1)}→${f.loadAverage[1].toFixed(1)}` : '—',
      ]),
    ),
    '',
    ...(p.skipped.length > 0
      ? [
          `Not measured in this run: ${p.skipped.map((s) => `K = ${s.hospitals} × P = ${pLabel(s.params)}`).join(', ')} (${p.skipped[0].reason}; \`--full\` runs them).`,
          '',
        ]
      : []),
    '“HIMAS ms” has the updates in kernel memory, as the aggregator decodes them (`decodeUpdateInto`);',
    '“plain arrays” hands the strategy ordinary Float32Arrays, which the kernels copy through a',
    'cache-sized staging area. Re-measure with `npm run bench -- --only aggregation [--full]`; one case',
    'with `npx himas bench aggregate --hospitals 30 --params 1000000 --peers`. “load” is the',
    '1-minute load average before → after the case.',
    '',
    ...profileSection(p.profile),
  ];
}

function profileSection(profile: NonNullable<BenchResults['aggregationPeers']>['profile']): string[] {
  if (!profile) return [];
  const whole = profile.steps[0].seconds.median;
  return [
    `**Where the time goes at K = ${profile.hospitals}, P = ${pLabel(profile.params)}** (each step timed alone, every step, the`,
    'whole aggregation and the numpy lanes in one rotating loop; medians; “before” rows are the',
    `steps as they ran before this table's kernels, bench-only). Load average ${profile.loadAverage[0].toFixed(1)} → ${profile.loadAverage[1].toFixed(1)}.`,
    '',
    table(
      ['step', 'ms (q1–q3)', '× the whole aggregation'],
      profile.steps.map((s) => [
        s.step,
        `${ms(s.seconds.median)} (${ms(s.seconds.q1)}–${ms(s.seconds.q3)})`,
        (s.seconds.median / whole).toFixed(2),
      ]),
    ),
    '',
  ];
}
