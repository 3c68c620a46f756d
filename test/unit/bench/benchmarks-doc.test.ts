import { renderBenchmarkSvgs, renderBenchmarksMarkdown } from '../../../bench/report/benchmarks-doc';
import { tailSlope } from '../../../bench/report/summary-sections';
import { qualityPresetSection } from '../../../bench/report/quality-section';
import type { BenchResults } from '../../../bench/results';
import { meanInterval95, summarize, type Summary } from '../../../bench/statistics';
import type { MetricIntervals, PresetQuality } from '../../../bench/suites/quality';

const s = (...xs: number[]): Summary => summarize(xs.length ? xs : [1]);
const floor = (seconds: number, floorRatio: number) => ({
  seconds: s(seconds),
  floorSeconds: s(seconds * floorRatio),
  paramsPerSecond: 1e8,
  floorRatio,
  floorRatioPairs: s(floorRatio),
});
const metrics = (auroc: number[]): MetricIntervals => ({
  auroc: meanInterval95(auroc),
  auprc: meanInterval95(auroc.map((a) => a / 2)),
  observedExpected: meanInterval95([1, 1.1]),
  calibrationSlope: null,
});

function preset(name: 'archetypes' | 'eicu-like', withHospitalLevel: boolean): PresetQuality {
  const methods: PresetQuality['methods'] = [
    { id: 'centralized', kind: 'centralized', label: 'centralized' },
    { id: 'localOnly', kind: 'localOnly', label: 'local only' },
    { id: 'fedavg', kind: 'fedavg', label: 'FedAvg' },
    { id: 'dpsgd-eps1', kind: 'dpsgd', label: 'FedAvg + patient-level DP-SGD, ε = 1', epsilon: 1 },
    { id: 'dpsgd-eps8', kind: 'dpsgd', label: 'FedAvg + patient-level DP-SGD, ε = 8', epsilon: 8 },
    ...(withHospitalLevel
      ? [
          {
            id: 'dpfedavg-eps8',
            kind: 'dpfedavg' as const,
            label: 'hospital-level DP-FedAvg, ε = 8',
            epsilon: 8,
          },
        ]
      : []),
  ];
  const values: Record<string, number[]> = {
    centralized: [0.85, 0.86],
    localOnly: [0.8, 0.81],
    fedavg: [0.86, 0.87],
    'dpsgd-eps1': [0.82, 0.83],
    'dpsgd-eps8': [0.845, 0.85],
    'dpfedavg-eps8': [0.7, 0.74],
  };
  const all = Object.fromEntries(methods.map((m) => [m.id, metrics(values[m.id])]));
  return {
    settings: {
      preset: name,
      seeds: [1, 2],
      rounds: 5,
      localEpochs: 2,
      batchSize: 64,
      learningRate: 0.003,
      hiddenUnits: [64, 32],
      patientEpsilons: [1, 8],
      hospitalEpsilons: withHospitalLevel ? [8] : [],
      fedAdam: false,
      delta: 1e-5,
      hospitalClipNorm: 2,
    },
    methods,
    hospitals: ['h1', 'h2'],
    testSizes: { h1: { rows: 100, positives: 12 }, h2: { rows: 20, positives: 1 } },
    pooled: all,
    perHospital: {
      h1: all,
      h2: { ...all, fedavg: { auroc: null, auprc: null, observedExpected: null, calibrationSlope: null } },
    },
    noiseMultipliers: { 'dpsgd-eps1': 6.5, 'dpsgd-eps8': 1.3, 'dpfedavg-eps8': 1.4 },
    seconds: 12,
    raw: [],
  };
}

function fixture(): BenchResults {
  return {
    date: '2026-11-27',
    startedAt: '2026-11-27T21:00:00.000Z',
    mode: 'quick',
    durationSeconds: 280,
    cpuSeconds: 200,
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      clockGHz: 2.5,
      memoryGiB: 8,
      simdFlags: ['avx2'],
      nodeVersion: '20.0.0',
      v8Version: '11',
      platform: 'linux',
      loadAverageAtStart: 3,
      peak: { gflops: 160, basis: 'estimate' } as BenchResults['machine']['peak'],
    },
    sharedMachineNote: 'shared machine',
    aggregation: {
      clipNorm: 1,
      noiseMultiplier: 1,
      figures: [
        {
          hospitals: 30,
          params: 10000,
          aggregateSeconds: s(0.001),
          floorSeconds: s(0.0001),
          paramsPerSecond: 3e8,
          floorRatio: 0.1,
          floorRatioPairs: s(0.1),
        },
      ],
      decode: [],
      stages: [
        {
          hospitals: 30,
          params: 10000,
          validateSeconds: 0.0003,
          clipSeconds: 0.0008,
          sumSeconds: 0.0004,
          noiseSeconds: 0.0002,
          serverStepSeconds: 0.00004,
          decodeSeconds: 0.0001,
          floorSeconds: 0.0001,
          fusedSeconds: 0.001,
        },
      ],
      secure: [
        {
          hospitals: 30,
          params: 10000,
          fixedPointScale: 2 ** 25,
          unmask: floor(0.0004, 0.321),
          secureDpFedAvg: floor(0.0007, 0.18),
          dropoutRecovery: floor(0.0016, 0.08),
          verify: floor(0.011, 0.01),
          verifyAndDpFedAvg: floor(0.012, 0.009),
        },
      ],
      masking: [
        {
          hospitals: 30,
          params: 10000,
          maskSeconds: s(0.0144),
          plainEncodeSeconds: s(0.00002),
          ratio: 0.00139,
          ratioPairs: s(0.00139),
        },
      ],
      skipped: [],
      pending: [],
    },
    noise: {
      samples: 1e6,
      cryptoSeconds: s(0.02),
      mathRandomSeconds: s(0.03),
      cryptoSamplesPerSecond: 5e7,
      mathRandomSamplesPerSecond: 3e7,
      ratio: 1.5,
      ratioPairs: s(1.5),
    },
    training: {
      flopsPerSample: { forward: 8384, training: 25152 },
      model: 'MLP',
      backends: [{ backend: 'wasm', present: true, flags: {} }],
      figures: [
        {
          backend: 'wasm',
          batchSize: 256,
          rows: 8192,
          epochSeconds: s(0.12),
          samplesPerSecond: 65000,
          gflops: 1.6,
          fractionOfPeak: 0.01,
          matmulGflops: 12,
          ratioToMatmul: 0.13,
          ratioPairs: s(0.13),
        },
      ],
      profiles: [],
      dpSgd: [
        {
          backend: 'wasm',
          batchSize: 256,
          rows: 4096,
          plainEpochSeconds: s(0.1),
          dpEpochSeconds: s(0.22),
          plainSamplesPerSecond: 40000,
          dpSamplesPerSecond: 18000,
          ratio: 0.466,
          ratioPairs: s(0.466),
          exampleClipNorm: 1,
          noiseMultiplier: 1,
        },
      ],
      pending: [],
    },
    orchestration: {
      setup: 'SETUP TEXT',
      overhead: {
        hospitals: 3,
        rounds: 3,
        cycleSeconds: s(0.6, 0.7, 0.8),
        trainingSpanSeconds: s(0.2, 0.25, 0.3),
        overheadSeconds: s(0.4, 0.45, 0.5),
        overheadShare: s(0.6, 0.65, 0.7),
        dispatchSeconds: s(0.02),
        closeSeconds: s(0.3),
        afterCloseSeconds: s(0.1),
      },
      scaling: [3, 10, 30].map((k) => ({
        hospitals: k,
        roundSeconds: 0.1 * k ** 1.4,
        trainingSpanSeconds: 0.05 * k,
        overheadSeconds: 0.1 * k ** 1.4 - 0.05 * k,
        dispatchSeconds: 0.01,
        closeSeconds: 0.05 * k,
        afterCloseSeconds: 0.5,
        workflowSeconds: 0.3 * k,
        peakRssBytes: (200 + k) * 2 ** 20,
        startRssBytes: 180 * 2 ** 20,
      })),
      roundTimeGrowth: { exponent: 1.4, coefficient: 0.1, rSquared: 0.999, points: 3 },
      memoryGrowth: { exponent: 0.55, coefficient: 1, rSquared: 0.98, points: 3 },
      skipped: [{ hospitals: 100, reason: 'over budget' }],
      childCpuSeconds: 10,
    },
    quality: {
      presets: [preset('archetypes', false), preset('eicu-like', true)],
      pending: ['FedAdam: --full only'],
    },
  };
}

describe('docs/benchmarks.md rendering', () => {
  const md = renderBenchmarksMarkdown(fixture(), 'bench/results/2026-11-27.json');

  it('shows secure aggregation and signature costs with their floor ratios and the masking ratio', () => {
    expect(md).toContain('### With secure aggregation and with signature checks');
    expect(md).toMatch(/\| 30 \| 10\^4 \| 0\.100 \| [^|]+\| \*\*0\.321\*\*/);
    expect(md).toContain('1.39e-3');
    expect(md).toContain('367 µs'); // 11 ms / 30 updates
    expect(md).not.toContain('not implemented yet');
  });

  it('shows the DP-SGD overhead ratio per backend', () => {
    expect(md).toContain('**Patient-level DP-SGD vs plain training**');
    expect(md).toMatch(/\| wasm \| 256 \| 4096 \| [^|]+\| [^|]+\| \*\*0\.466\*\*/);
  });

  it('shows orchestration overhead, scaling with peak memory, the growth exponent and what was skipped', () => {
    expect(md).toContain('SETUP TEXT');
    expect(md).toContain('**overhead** | **450.0** (425.0–475.0)');
    expect(md).toContain('grows as **K^1.40**');
    expect(md).toContain('between K = 10 and 30 alone the slope is 1.40.');
    expect(md).toContain('Peak RSS above the start grows as **K^0.55**');
    expect(md).toContain('Not measured: K = 100 — over budget.');
    // 0.1 · 100^1.4 = 63.1 s, by the fit and by the K = 10 → 30 slope alike (the fixture is an exact power law).
    expect(md).toContain(
      'Extrapolated from K = 30: one round ≈ 1.1 min by the fit (K^1.40), ≈ 1.1 min by the slope between K = 10 and 30 (K^1.40).',
    );
    expect(md).toContain('![One round vs hospitals](benchmarks/orchestration-scaling.svg)');
  });

  it('shows DP quality rows per preset with intervals, AUPRC and calibration, and per-hospital AUROC', () => {
    expect(md).toContain('### `eicu-like`: 2 hospitals');
    expect(md).toContain('| FedAvg + patient-level DP-SGD, ε = 1 | 0.825 [');
    expect(md).toContain('| hospital-level DP-FedAvg, ε = 8 | 0.720 [');
    expect(md).toContain('No hospital-level DP row: with m = 2 hospitals');
    // An undefined per-hospital AUROC is a dash, not NaN.
    expect(md).not.toContain('NaN');
    expect(md).toMatch(/\| h2 \| 0\.855 \| 0\.805 \| — \|/);
    expect(md).toContain('Hospitals with fewer than 5 test positives (h2)');
  });

  it('names the DP-SGD recipe the DP rows were measured with, or says it was not recorded', () => {
    const measured = {
      ...preset('archetypes', false),
      dpRecipe: { model: 'logistic', batchSize: 128, learningRate: 0.02, localEpochs: 4 },
    };
    expect(qualityPresetSection(measured).join('\n')).toContain(
      'when this was measured (logistic model, batch 128, lr 0.02, 4 local epochs, C_example = 1)',
    );
    const unrecorded = { ...preset('archetypes', false), dpRecipe: undefined };
    expect(qualityPresetSection(unrecorded).join('\n')).toContain('not recorded in this results file');
  });

  it('closes with the headline figures and where the time goes', () => {
    expect(md).toContain('## Closing note');
    expect(md).toMatch(/- \*\*Orchestration\*\*: .*K\^1\.40/);
    expect(md).toMatch(/- \*\*Secure aggregation\*\*/);
    expect(md).toMatch(/\| pooled test AUROC, eicu-like: FedAvg \+ DP-SGD ε = 8 \(2 seeds\) \| 0\.847 /);
  });

  it('computes the tail slope from the two largest K, and none from fewer than three points', () => {
    const pts = [1, 10, 100].map((k) => ({ hospitals: k, roundSeconds: k <= 10 ? 1 : 100 }));
    expect(tailSlope(pts)).toEqual({ from: 10, to: 100, slope: 2 });
    expect(tailSlope(pts.slice(1))).toBeNull();
  });

  it('renders every plot the page links to', () => {
    const svgs = renderBenchmarkSvgs(fixture());
    for (const name of [
      'aggregation-throughput.svg',
      'training-throughput.svg',
      'orchestration-scaling.svg',
      'quality-auroc-vs-epsilon.svg',
      'quality-auroc-archetypes.svg',
      'quality-auroc-eicu-like.svg',
    ]) {
      expect(svgs[name]).toMatch(/^<svg /);
      expect(svgs[name]).not.toContain('NaN');
    }
    for (const link of md.matchAll(/\]\(benchmarks\/([^)]+\.svg)\)/g))
      expect(Object.keys(svgs)).toContain(link[1]);
  });
});

describe('docs/benchmarks.md: the emulator stack and merged orchestration runs', () => {
  const stack = (name: 'embedded' | 'emulators', overhead: number) => ({
    stack: name,
    rounds: 3,
    runs: 2,
    roundSeconds: s(overhead + 1, overhead + 1.2, overhead + 1.4),
    slowestTrainingSeconds: s(1.2),
    overheadSeconds: s(overhead - 0.2, overhead, overhead + 0.2),
    commandSeconds: 42,
  });
  const withOrchestration = (
    o: Partial<BenchResults['orchestration']>,
    extra: Partial<BenchResults> = {},
  ) => {
    const r = fixture();
    return { ...r, ...extra, orchestration: { ...r.orchestration, ...o } };
  };

  it('shows both stacks’ per-round overhead side by side and their ratio, in the body and the headline table', () => {
    const md = renderBenchmarksMarkdown(
      withOrchestration({
        emulator: {
          measured: true,
          setup: 'SETUP CLI',
          hospitals: 3,
          embedded: stack('embedded', 6),
          emulators: stack('emulators', 15),
          ratio: 2.5,
        },
      }),
      'bench/results/x.json',
    );
    expect(md).toContain(
      '**Per-round overhead on the emulator stack vs the embedded stack** (SETUP CLI; median over 3 and 3 rounds, rounds 2.. of each run',
    );
    expect(md).toContain(
      '| embedded (DuckDB, in-process bus) | 7.20 (7.10–7.30) | 1.20 | 6.00 (5.90–6.10) | 42 |',
    );
    expect(md).toMatch(
      /\| emulators \(Pub\/Sub \+ Firestore, functions-framework\) \| 16\.20 [^|]+\| 1\.20 \| 15\.00 /,
    );
    expect(md).toContain('Overhead on the emulators / embedded: **2.50 ×**');
    expect(md).toContain('| 15.00 s vs 6.00 s embedded | 2.50 × the embedded stack |');
    expect(md).toContain('6.0 s embedded and 15.0 s on the emulator stack (2.50 ×)');
  });

  it('says why the emulator figure is missing instead of showing one', () => {
    const missing = renderBenchmarksMarkdown(
      withOrchestration({
        emulator: { measured: false, reason: 'not measured: gcloud missing (install it)' },
      }),
      'bench/results/x.json',
    );
    expect(missing).toContain(
      '**Per-round overhead on the emulator stack vs the embedded stack**: not measured: gcloud missing (install it).',
    );
    expect(missing).not.toContain('× the embedded stack');
    const notRun = renderBenchmarksMarkdown(withOrchestration({}), 'bench/results/x.json');
    expect(notRun).toContain('not measured in this run');
    expect(notRun).toContain('`npm run bench -- --only orchestration`');
  });

  it('marks a K timed in round 1 and names the runs merged into the file', () => {
    const r = fixture();
    const md = renderBenchmarksMarkdown(
      withOrchestration(
        {
          scaling: [
            ...r.orchestration.scaling,
            { ...r.orchestration.scaling[2], hospitals: 1000, timedRound: 1 },
          ],
        },
        {
          mergedRuns: [
            {
              suite: 'orchestration',
              startedAt: '2026-11-27T22:27:00.000Z',
              mode: 'full',
              durationSeconds: 1234.4,
              measured: 'one round at K = 1000',
            },
          ],
        },
      ),
      'bench/results/x.json',
    );
    expect(md).toMatch(/\n\| 1000¹ \| /);
    expect(md).toMatch(/\n\| 30 \| /);
    expect(md).toContain('¹ A one-round run, round 1 timed');
    expect(md).toContain(
      'Merged in afterwards: `--only orchestration` run 2026-11-27T22:27:00.000Z (full mode, 1234 s): one round at K = 1000.',
    );
  });
});
