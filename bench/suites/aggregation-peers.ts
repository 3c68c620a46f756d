import { randomFillSync } from 'node:crypto';
import * as os from 'node:os';
import {
  KernelMemory,
  noisyAverageInto,
  scaledSumInto,
  stepOneInto,
  stepOneJs,
  sumsOfSquares,
  useKernelHelper,
} from '../../src/core/kernels/aggregation-kernels';
import type { ClientUpdate } from '../../src/core/federated';
import { validateRound } from '../../src/core/federated/strategy';
import { CryptoRandom } from '../../src/runtime/crypto-random';
import { installKernelHelper } from '../../src/runtime/kernel-helper';
import { zigguratNormals, zigguratTables } from '../../src/runtime/ziggurat-normal';
import { previousPolarNormals } from './aggregation-previous';
import { timeOnce } from '../harness';
import {
  FLOOR_PASSES,
  NumpyPeer,
  floorTask,
  numpyAbsence,
  type FloorPages,
  type FloorPass,
  type PeerTask,
} from '../numpy-peer';
import { summarize, type Summary } from '../statistics';
import { BENCH_CLIP_NORM, BENCH_NOISE_MULTIPLIER, benchStrategy, makeUpdates } from './aggregation';

/**
 * DP-FedAvg in HIMAS against the machine's memory floor and against numpy, in one process pair and
 * one loop: each repeat times HIMAS (updates in kernel memory, as the aggregator decodes them; and
 * as plain Float32Arrays), then numpy's plain read passes and numpy's DP-FedAvg over the same bytes,
 * the order rotating so drift favours no one. The floor is the fastest read pass's median: the
 * least time this machine needs to read the bytes once. Ratios are of medians, and per repeat
 * (their spread).
 */

/** One plain read pass of the numpy peer, timed in the same loop as HIMAS. */
export interface FloorPassFigure {
  pass: FloorPass;
  pages: FloorPages;
  seconds: Summary;
}

export interface PeerFigure {
  hospitals: number;
  params: number;
  /** HIMAS dpFedAvg(fedAvg) with the updates in a KernelMemory (read in place). */
  himasSeconds: Summary;
  /** The same with the updates as ordinary Float32Arrays (copied through the kernels' staging). */
  himasPlainSeconds: Summary;
  /** Every read pass timed (numpy `max`, `max` on an int32 view, `sum`; huge and 4 KiB pages). */
  floorPasses?: FloorPassFigure[];
  /** The read pass with the fastest median: the floor. */
  floorPass?: { pass: FloorPass; pages: FloorPages };
  /** That pass's times: the machine's memory floor for K·P float32. */
  floorSeconds?: Summary;
  /** The fastest read pass over the copy on 4 KiB pages (the kind of memory V8 gets). */
  floor4kSeconds?: Summary;
  /** Flower-style DP-FedAvg in numpy. */
  numpySeconds?: Summary;
  /** numpy DP-FedAvg time / HIMAS time (≥ 2 is the target at K = 30, P = 10^6). */
  speedupOverNumpy?: number;
  speedupOverNumpyPairs?: Summary;
  /** Floor time / HIMAS time: the fraction of memory speed HIMAS reaches (≥ 0.3 is the target). */
  fractionOfFloor?: number;
  fractionOfFloorPairs?: Summary;
  fractionOfFloor4k?: number;
  /** 1-minute load average before and after this case. */
  loadAverage?: [number, number];
}

/**
 * Where the time of one aggregation goes at K = 30, P = 10^6: each step timed alone, all of them
 * and the floor in one rotating loop (medians, seconds).
 */
export interface PeerProfile {
  hospitals: number;
  params: number;
  steps: Array<{ step: string; seconds: Summary }>;
  loadAverage: [number, number];
}

export interface PeerResult {
  /** Null when python3 and numpy are present; otherwise why the numpy columns are empty. */
  numpyAbsent: string | null;
  numpyVersion: string | null;
  hugepages: boolean | null;
  figures: PeerFigure[];
  skipped: Array<{ hospitals: number; params: number; reason: string }>;
  /** 1-minute load average at the start and the end of the table (others' jobs share the machine). */
  loadAverage?: [number, number];
  profile?: PeerProfile;
}

export const PEER_HOSPITALS = [3, 30, 100, 1000];
export const PEER_PARAMS = [1e4, 1e5, 1e6, 1e7];

/** One (K, P) case. */
export async function benchAgainstPeers(
  hospitals: number,
  params: number,
  repeats: number,
  peer: NumpyPeer | null,
  updates: ClientUpdate[] = makeUpdates(hospitals, params),
): Promise<PeerFigure> {
  const memory = KernelMemory.create(hospitals * params * 4);
  const inMemory = memory
    ? updates.map((u) => {
        const delta = memory.float32(params);
        delta.set(u.delta);
        return { ...u, delta };
      })
    : updates;
  if (peer)
    await peer.load(
      updates.map((u) => u.delta),
      BENCH_CLIP_NORM,
      BENCH_NOISE_MULTIPLIER,
    );
  const strategy = benchStrategy();
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const context = { round: 1, expectedHospitals: hospitals, enrolledHospitals: hospitals, random };
  const himas = (u: ClientUpdate[]) => () => strategy.aggregate(global, u, undefined, context).weights[0];
  type Lane = { name: string; run: () => Promise<number> };
  const lanes: Lane[] = [
    { name: 'himas', run: () => timeOnce(himas(inMemory)) },
    { name: 'himas-plain', run: () => timeOnce(himas(updates)) },
    ...(peer
      ? [...floorTasks(), 'reference' as PeerTask].map((task) => ({
          name: task,
          run: () => peer.time(task),
        }))
      : []),
  ];
  const loadAtStart = os.loadavg()[0];
  for (const lane of lanes) for (let i = 0; i < 2; i++) await lane.run(); // warm-up: JIT, worker, page faults
  const seconds = new Map<string, number[]>(lanes.map((l) => [l.name, []]));
  for (let r = 0; r < repeats; r++) {
    for (let j = 0; j < lanes.length; j++) {
      const lane = lanes[(r + j) % lanes.length];
      seconds.get(lane.name)!.push(await lane.run());
    }
  }
  const of = (name: string) => seconds.get(name)!;
  const median = (name: string) => summarize(of(name)).median;
  const pairs = (name: string) => summarize(of(name).map((t, i) => t / of('himas')[i]));
  const figure: PeerFigure = {
    hospitals,
    params,
    himasSeconds: summarize(of('himas')),
    himasPlainSeconds: summarize(of('himas-plain')),
    loadAverage: [loadAtStart, os.loadavg()[0]],
  };
  if (peer) {
    const passes: FloorPassFigure[] = FLOOR_PASSES.flatMap((pass) =>
      (['huge', '4k'] as FloorPages[]).map((pages) => ({
        pass,
        pages,
        seconds: summarize(of(floorTask(pass, pages))),
      })),
    );
    const fastest = fastestPass(passes);
    const fastest4k = fastestPass(passes.filter((f) => f.pages === '4k'));
    const floorLane = floorTask(fastest.pass, fastest.pages);
    figure.floorPasses = passes;
    figure.floorPass = { pass: fastest.pass, pages: fastest.pages };
    figure.floorSeconds = fastest.seconds;
    figure.floor4kSeconds = fastest4k.seconds;
    figure.numpySeconds = summarize(of('reference'));
    figure.speedupOverNumpy = median('reference') / median('himas');
    figure.speedupOverNumpyPairs = pairs('reference');
    figure.fractionOfFloor = median(floorLane) / median('himas');
    figure.fractionOfFloorPairs = pairs(floorLane);
    figure.fractionOfFloor4k = fastest4k.seconds.median / median('himas');
  }
  return figure;
}

/** Every read pass on both kinds of page, as peer tasks. */
const floorTasks = (): PeerTask[] =>
  FLOOR_PASSES.flatMap((pass) => [floorTask(pass, 'huge'), floorTask(pass, '4k')]);

/** The pass with the least median time (the first of equals, in FLOOR_PASSES order). */
export function fastestPass(passes: readonly FloorPassFigure[]): FloorPassFigure {
  if (passes.length === 0) throw new Error('no read pass was timed');
  return passes.reduce((best, f) => (f.seconds.median < best.seconds.median ? f : best));
}

/**
 * The profile of one aggregation: DP-FedAvg's steps on the same kernels, each timed alone in a
 * rotating loop with the whole aggregation and numpy's read pass, plus the steps as they were
 * before (one thread, the polar-method noise, the JavaScript noisy-average and server-step loops).
 */
export async function profileAggregation(
  hospitals: number,
  params: number,
  repeats: number,
  peer: NumpyPeer | null,
): Promise<PeerProfile> {
  const loadAtStart = os.loadavg()[0];
  const updates = makeUpdates(hospitals, params);
  const memory = KernelMemory.create(hospitals * params * 4)!;
  const inMemory = updates.map((u) => {
    const delta = memory.float32(params);
    delta.set(u.delta);
    return { ...u, delta };
  });
  if (peer)
    await peer.load(
      updates.map((u) => u.delta),
      BENCH_CLIP_NORM,
      BENCH_NOISE_MULTIPLIER,
    );
  const deltas = inMemory.map((u) => u.delta);
  const strategy = benchStrategy();
  const random = new CryptoRandom();
  const global = new Float32Array(params);
  const context = { round: 1, expectedHospitals: hospitals, enrolledHospitals: hospitals, random };
  const { norms } = validateRound(global, inMemory);
  const scales = norms.map((n) => (n > BENCH_CLIP_NORM ? BENCH_CLIP_NORM / n : 1));
  const sum = memory.workspaceFloat64('sum', params);
  const noise = new Float64Array(params);
  const average = new Float32Array(params);
  const next = new Float32Array(params);
  // As dpFedAvg holds them now: noise and average in kernel memory next to the sum.
  const noiseHere = memory.float64(params);
  const averageHere = memory.float32(params);
  const words = new Uint32Array(16384);
  const tables = zigguratTables();
  const refill = (w: Uint32Array) => void randomFillSync(w);
  const std = BENCH_NOISE_MULTIPLIER * BENCH_CLIP_NORM;
  const oneThread = (f: () => void) => () => {
    useKernelHelper(null);
    try {
      f();
    } finally {
      installKernelHelper();
    }
  };
  const steps: Array<{ step: string; run: () => void }> = [
    {
      step: 'whole aggregation (dpFedAvg)',
      run: () => strategy.aggregate(global, inMemory, undefined, context),
    },
    { step: 'norms, 2 threads', run: () => sumsOfSquares(deltas) },
    { step: 'norms, 1 thread', run: oneThread(() => sumsOfSquares(deltas)) },
    { step: 'clipped float64 sum, 2 threads', run: () => scaledSumInto(sum, deltas, scales) },
    { step: 'clipped float64 sum, 1 thread', run: oneThread(() => scaledSumInto(sum, deltas, scales)) },
    {
      step: 'noise: P normals, ziggurat (now)',
      run: () => void zigguratNormals(words, words.length, noise, tables, refill),
    },
    {
      step: 'noise: P normals, polar method (before)',
      run: () => previousPolarNormals(noise, words, refill),
    },
    {
      step: 'noise: copy P normals (as taking the prefetched ones does)',
      run: () => noiseHere.set(noise),
    },
    {
      step: 'noisy average ÷ m, SIMD in kernel memory + SIMD squares (now)',
      run: () => void noisyAverageInto(averageHere, sum, noiseHere, std, hospitals),
    },
    {
      step: 'noisy average ÷ m, JS loop + SIMD squares (before: fresh arrays)',
      run: () => void noisyAverageInto(average, sum, noise, std, hospitals),
    },
    {
      step: 'noisy average ÷ m alone, JS loop (no squares)',
      run: () => {
        let squares = 0;
        for (let i = 0; i < params; i++) {
          const x = Math.fround((sum[i] + std * noise[i]) / hospitals);
          average[i] = x;
          squares += x * x;
        }
        if (!Number.isFinite(squares)) throw new Error('not finite');
      },
    },
    {
      step: 'server step, w = total = eta = 1 loop (now)',
      run: () => stepOneInto(next, global, average, 1, 1, 1),
    },
    { step: 'server step, stepOneJs loop (before)', run: () => stepOneJs(next, global, average, 1, 1, 1) },
    {
      step: 'server step into a fresh array (first-touch page faults)',
      run: () => stepOneInto(new Float32Array(params), global, average, 1, 1, 1),
    },
  ];
  type Lane = { name: string; run: () => Promise<number> };
  const lanes: Lane[] = [
    ...steps.map((s) => ({ name: s.step, run: () => timeOnce(s.run) })),
    ...(peer
      ? (['read-max-int32', 'read-sum', 'reference'] as PeerTask[]).map((task) => ({
          name:
            task === 'reference'
              ? 'numpy DP-FedAvg (Flower-style)'
              : `numpy read pass, ${task === 'read-sum' ? 'float32 a.sum()' : 'a.view(int32).max()'}`,
          run: () => peer.time(task),
        }))
      : []),
  ];
  for (const lane of lanes) await lane.run(); // warm-up
  const seconds = new Map<string, number[]>(lanes.map((l) => [l.name, []]));
  for (let r = 0; r < repeats; r++)
    for (let j = 0; j < lanes.length; j++) {
      const lane = lanes[(r + j) % lanes.length];
      seconds.get(lane.name)!.push(await lane.run());
    }
  return {
    hospitals,
    params,
    steps: lanes.map((l) => ({ step: l.name, seconds: summarize(seconds.get(l.name)!) })),
    loadAverage: [loadAtStart, os.loadavg()[0]],
  };
}

/** The K × P table: K = 3 … 1000, P = 10^4 … 10^7, cases above `maxTotal` K·P sampled out. */
export async function benchPeerTable(options: {
  maxTotal: number;
  log: (line: string) => void;
  only?: Array<[number, number]>;
  /** Time the steps at K = 30, P = 10^6 too (default true). */
  profile?: boolean;
}): Promise<PeerResult> {
  let profile: PeerProfile | undefined;
  const numpyAbsent = numpyAbsence();
  if (numpyAbsent) options.log(`aggregation peers: numpy columns empty: ${numpyAbsent}`);
  const peer = numpyAbsent ? null : NumpyPeer.start();
  const figures: PeerFigure[] = [];
  const skipped: PeerResult['skipped'] = [];
  const loadAtStart = os.loadavg()[0];
  try {
    const cases =
      options.only ?? PEER_PARAMS.flatMap((p) => PEER_HOSPITALS.map((k) => [k, p] as [number, number]));
    for (const [k, p] of cases) {
      if (k * p > options.maxTotal) {
        skipped.push({
          hospitals: k,
          params: p,
          reason: `K·P above this run's ${options.maxTotal.toExponential(0)} (updates are held three times: as arrays, in kernel memory, in numpy)`,
        });
        continue;
      }
      const total = k * p;
      const repeats = total >= 1e7 ? 7 : total >= 1e6 ? 11 : 21;
      const f = await benchAgainstPeers(k, p, repeats, peer);
      figures.push(f);
      options.log(
        `aggregation K=${k} P=${p}: HIMAS ${(f.himasSeconds.median * 1e3).toFixed(2)} ms` +
          (f.numpySeconds
            ? `, numpy ${(f.numpySeconds.median * 1e3).toFixed(2)} ms (${f.speedupOverNumpy!.toFixed(2)}×), ` +
              `floor ${(f.floorSeconds!.median * 1e3).toFixed(2)} ms (${f.floorPass!.pass}, ${f.floorPass!.pages} pages; ${(100 * f.fractionOfFloor!).toFixed(1)} % of it)`
            : ''),
      );
    }
    if (options.profile !== false) {
      profile = await profileAggregation(30, 1e6, 9, peer);
      options.log(
        `aggregation profile K=30 P=1e6: ${profile.steps.map((s) => `${s.step} ${(s.seconds.median * 1e3).toFixed(1)} ms`).join('; ')}`,
      );
    }
  } finally {
    peer?.stop();
  }
  return {
    profile,
    numpyAbsent,
    numpyVersion: peer?.numpyVersion ?? null,
    hugepages: peer?.hugepages ?? null,
    figures,
    skipped,
    loadAverage: [loadAtStart, os.loadavg()[0]],
  };
}
