import { mergeOrchestration, type MergedRun } from '../../../bench/merge-results';
import type { BenchResults } from '../../../bench/results';
import type { OrchestrationResult } from '../../../bench/suites/orchestration';
import type { EmulatorOverhead } from '../../../bench/suites/orchestration-emulator';
import { poolStackRounds, roundOverheads } from '../../../bench/suites/orchestration-emulator';
import { summarize } from '../../../bench/statistics';

const s = (...xs: number[]) => summarize(xs);
// One round at K grows exactly as 0.2 · K^1.5 and memory above start as 1 MiB · K: the refit must find both.
const point = (k: number, extra: Partial<OrchestrationResult['scaling'][number]> = {}) => ({
  hospitals: k,
  roundSeconds: 0.2 * k ** 1.5,
  trainingSpanSeconds: 0.01 * k,
  overheadSeconds: 0.2 * k ** 1.5 - 0.01 * k,
  dispatchSeconds: 0.01,
  closeSeconds: 0.1,
  afterCloseSeconds: 0.3,
  workflowSeconds: k,
  peakRssBytes: 200 * 2 ** 20 + k * 2 ** 20,
  startRssBytes: 200 * 2 ** 20,
  ...extra,
});
const overhead = (median: number): OrchestrationResult['overhead'] => ({
  hospitals: 3,
  rounds: 3,
  cycleSeconds: s(median + 0.1),
  trainingSpanSeconds: s(0.1),
  overheadSeconds: s(median),
  overheadShare: s(median / (median + 0.1)),
  dispatchSeconds: s(0.01),
  closeSeconds: s(0.3),
  afterCloseSeconds: s(0.3),
});
const measuredEmulator = (ratio: number): EmulatorOverhead => {
  const stack = (name: 'embedded' | 'emulators', o: number) => ({
    stack: name,
    rounds: 3,
    runs: 1,
    roundSeconds: s(o + 1),
    slowestTrainingSeconds: s(1),
    overheadSeconds: s(o),
    commandSeconds: 30,
  });
  return {
    measured: true,
    setup: 'himas train',
    hospitals: 3,
    embedded: stack('embedded', 5),
    emulators: stack('emulators', 5 * ratio),
    ratio,
  };
};
const orchestration = (o: Partial<OrchestrationResult>): OrchestrationResult => ({
  setup: 'setup',
  overhead: overhead(0.7),
  scaling: [],
  roundTimeGrowth: null,
  memoryGrowth: null,
  skipped: [],
  childCpuSeconds: 10,
  ...o,
});
const base = (o: Partial<OrchestrationResult>): BenchResults =>
  ({
    date: '2026-11-27',
    startedAt: '2026-11-27T20:00:00.000Z',
    mode: 'quick',
    durationSeconds: 300,
    cpuSeconds: 400,
    aggregation: { marker: 'kept' },
    quality: { marker: 'kept too' },
    orchestration: orchestration(o),
  }) as unknown as BenchResults;
const run: MergedRun = {
  suite: 'orchestration',
  startedAt: '2026-11-27T22:00:00.000Z',
  mode: 'full',
  durationSeconds: 900,
  measured: 'K = 1000',
};

describe('mergeOrchestration (bench --only orchestration into an existing results file)', () => {
  it('adds new K, keeps old K, replaces a re-measured K, and refits the exponents over the union', () => {
    const old = base({ scaling: [point(3), point(10), point(30, { roundSeconds: 99 })] });
    const merged = mergeOrchestration(
      old,
      orchestration({ scaling: [point(1000, { timedRound: 1 }), point(30)], childCpuSeconds: 600 }),
      run,
    );
    const o = merged.orchestration;
    expect(o.scaling.map((p) => p.hospitals)).toEqual([3, 10, 30, 1000]);
    expect(o.scaling[2].roundSeconds).toBeCloseTo(0.2 * 30 ** 1.5, 9);
    expect(o.scaling[3].timedRound).toBe(1);
    expect(o.roundTimeGrowth?.points).toBe(4);
    expect(o.roundTimeGrowth?.exponent).toBeCloseTo(1.5, 6);
    expect(o.memoryGrowth?.exponent).toBeCloseTo(1, 6);
    expect(o.childCpuSeconds).toBe(610);
    expect(merged.cpuSeconds).toBe(400);
  });

  it('keeps every other suite and the original run header, and records the merged run', () => {
    const old = base({ scaling: [point(3)] });
    const merged = mergeOrchestration(old, orchestration({ scaling: [point(10)] }), run);
    expect(merged.aggregation).toBe(old.aggregation);
    expect(merged.quality).toBe(old.quality);
    expect(merged.startedAt).toBe(old.startedAt);
    expect(merged.mergedRuns).toEqual([run]);
    const again = mergeOrchestration(merged, orchestration({}), { ...run, measured: 'overhead only' });
    expect(again.mergedRuns?.map((r) => r.measured)).toEqual(['K = 1000', 'overhead only']);
    // Nothing measured in the second run: the scaling points stay.
    expect(again.orchestration.scaling.map((p) => p.hospitals)).toEqual([3, 10]);
  });

  it('drops "not measured" notes for K that now have a figure, and adds the new run’s', () => {
    const old = base({
      scaling: [point(3), point(10)],
      skipped: [
        { hospitals: 300, reason: 'quick mode' },
        { hospitals: 1000, reason: 'quick mode' },
      ],
    });
    const merged = mergeOrchestration(
      old,
      orchestration({ scaling: [point(300)], skipped: [{ hospitals: 1000, reason: 'timed out' }] }),
      run,
    );
    expect(merged.orchestration.skipped).toEqual([{ hospitals: 1000, reason: 'timed out' }]);
  });

  it('takes the new per-round overhead, and keeps a measured emulator figure when the new run could not measure one', () => {
    const old = base({ emulator: measuredEmulator(2.5) });
    const notMeasured = mergeOrchestration(
      old,
      orchestration({
        overhead: overhead(0.4),
        emulator: { measured: false, reason: 'not measured: gcloud missing' },
      }),
      run,
    );
    expect(notMeasured.orchestration.overhead.overheadSeconds.median).toBe(0.4);
    expect(notMeasured.orchestration.emulator).toEqual(measuredEmulator(2.5));
    const absent = mergeOrchestration(old, orchestration({}), run);
    expect(absent.orchestration.emulator).toEqual(measuredEmulator(2.5));
    const remeasured = mergeOrchestration(old, orchestration({ emulator: measuredEmulator(1.8) }), run);
    expect(remeasured.orchestration.emulator).toEqual(measuredEmulator(1.8));
    const neverMeasured = mergeOrchestration(
      base({}),
      orchestration({ emulator: { measured: false, reason: 'not measured: gcloud missing' } }),
      run,
    );
    expect(neverMeasured.orchestration.emulator).toEqual({
      measured: false,
      reason: 'not measured: gcloud missing',
    });
  });
});

describe('roundOverheads (himas train: round time − slowest hospital training)', () => {
  const trained = (round: number, seconds: number) =>
    JSON.stringify({ time: 'x', event: 'job.trained', round, hospitalId: `h${seconds}`, seconds });
  const rounds = [
    { round: 1, openedAt: '2026-11-27T22:00:00.000Z', closedAt: '2026-11-27T22:00:10.000Z' },
    { round: 2, openedAt: '2026-11-27T22:00:11.000Z', closedAt: '2026-11-27T22:00:18.500Z' },
  ];

  it('subtracts the slowest job.trained seconds of each round, ignoring other lines', () => {
    const log = [
      trained(1, 1.2),
      trained(1, 2.5),
      JSON.stringify({ event: 'job.started', round: 2 }),
      trained(2, 0.5),
      trained(2, 1.5),
      trained(1, 0.8),
    ];
    expect(roundOverheads(rounds, log)).toEqual([
      { round: 1, roundSeconds: 10, slowestTrainingSeconds: 2.5, overheadSeconds: 7.5 },
      { round: 2, roundSeconds: 7.5, slowestTrainingSeconds: 1.5, overheadSeconds: 6 },
    ]);
  });

  it('refuses a round with no training line or that never closed', () => {
    expect(() => roundOverheads(rounds, [trained(1, 1)])).toThrow('round 2: no job.trained line');
    expect(() => roundOverheads([{ ...rounds[0], closedAt: null }], [trained(1, 1)])).toThrow(
      'round 1 did not close',
    );
  });
});

describe('poolStackRounds (A B B A runs of one stack)', () => {
  it('pools rounds 2.. of every run, and the median whole-command time', () => {
    const r = (round: number, overheadSeconds: number) => ({
      round,
      roundSeconds: overheadSeconds + 1,
      slowestTrainingSeconds: 1,
      overheadSeconds,
    });
    const pooled = poolStackRounds('emulators', [
      { rounds: [r(1, 100), r(2, 10), r(3, 12)], commandSeconds: 60 },
      { rounds: [r(1, 100), r(2, 11), r(3, 13)], commandSeconds: 80 },
    ]);
    expect(pooled.rounds).toBe(4);
    expect(pooled.runs).toBe(2);
    expect(pooled.overheadSeconds.min).toBe(10);
    expect(pooled.overheadSeconds.max).toBe(13);
    expect(pooled.overheadSeconds.median).toBe(11.5);
    expect(pooled.commandSeconds).toBe(70);
  });
});
