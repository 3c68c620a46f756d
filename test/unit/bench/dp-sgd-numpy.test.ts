import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dpSgdNumpySection } from '../../../bench/report/dp-sgd-numpy-section';
import type { BenchResults, DpSgdNumpyResult } from '../../../bench/results';
import { NumpyReference, type NumpyReferenceConfig } from '../../../bench/suites/dp-sgd-numpy';
import { syntheticTrainingData, type DpSgdNumpyFigure } from '../../../bench/suites/training';
import {
  createModel,
  fusedDenseLayout,
  getFlatWeights,
  initializeBackend,
  trainDenseDpSgdFused,
  type DenseLayout,
  type ModelSpec,
} from '../../../src/core/model';
import { CryptoRandom } from '../../../src/runtime/crypto-random';

const COLS = 24;
const data = syntheticTrainingData(300, COLS, 5);
let tmp: string;

beforeAll(async () => {
  await initializeBackend('auto');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'himas-numpy-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => delete process.env.HIMAS_BENCH_PYTHON);

function config(spec: ModelSpec, overrides: Partial<NumpyReferenceConfig> = {}) {
  const model = createModel(spec, 4);
  const layout = fusedDenseLayout(model) as DenseLayout;
  const cfg: NumpyReferenceConfig = {
    features: data.features,
    labels: data.labels,
    rows: data.rows,
    cols: COLS,
    weights: getFlatWeights(model),
    layout,
    samplingProbability: 0.2,
    stepsPerEpoch: 5,
    expectedBatchSize: 60,
    exampleClipNorm: 0.5,
    noiseMultiplier: 0,
    learningRate: 1,
    l2: layout.layers[0].kernelL2,
    optimizer: 'sgd',
    ...overrides,
  };
  return { model, layout, cfg };
}

describe('the numpy DP-SGD reference (bench)', () => {
  it('says python3 is missing, and that the bench installs nothing', async () => {
    process.env.HIMAS_BENCH_PYTHON = path.join(tmp, 'no-such-python');
    const { model, cfg } = config({ kind: 'logistic', inputDim: COLS });
    const status = await NumpyReference.start(cfg);
    expect(status).toEqual({
      present: false,
      reason: expect.stringMatching(/no-such-python is not on PATH: .*installs nothing/),
    });
    model.dispose();
  });

  it('says numpy is missing when python3 runs without it', async () => {
    // python3 -S skips site-packages, where numpy lives: the interpreter runs, the import fails.
    const wrapper = path.join(tmp, 'python-without-site');
    fs.writeFileSync(wrapper, '#!/bin/sh\nexec python3 -S "$@"\n', { mode: 0o755 });
    process.env.HIMAS_BENCH_PYTHON = wrapper;
    const { model, cfg } = config({ kind: 'logistic', inputDim: COLS });
    const status = await NumpyReference.start(cfg);
    expect(status).toMatchObject({ present: false });
    // Where python3 itself is absent the wrapper cannot run either; both are reported, not thrown.
    expect((status as { reason: string }).reason).toMatch(/numpy is not importable|exited before answering/);
    model.dispose();
  });

  it.each<[string, ModelSpec]>([
    ['logistic', { kind: 'logistic', inputDim: COLS }],
    ['mlp [16, 8]', { kind: 'mlp', inputDim: COLS, hiddenUnits: [16, 8] }],
  ])(
    '%s: computes the same clipped, averaged, L2-penalised step as HIMAS (both variants)',
    async (_n, spec) => {
      const { model, layout, cfg } = config(spec);
      const started = await NumpyReference.start(cfg);
      if (!(started instanceof NumpyReference)) {
        // No python3 + numpy here: the reference cannot be checked, and the bench says why.
        expect(started.reason).toMatch(/python|numpy/);
        model.dispose();
        return;
      }
      const rows = Array.from({ length: 50 }, (_, i) => (i * 5) % data.rows);
      try {
        const random = new CryptoRandom();
        await trainDenseDpSgdFused(model, layout, data, {
          epochs: 1,
          batchSize: 60,
          learningRate: 1,
          optimizer: 'sgd',
          exampleClipNorm: cfg.exampleClipNorm,
          noiseMultiplier: 0,
          expectedBatchSize: cfg.expectedBatchSize,
          schedule: () => [Int32Array.from(rows)],
          random,
          noiseRandom: random,
        });
        const himas = getFlatWeights(model);
        const moved = himas.reduce((m, w, k) => Math.max(m, Math.abs(w - cfg.weights[k])), 0);
        expect(moved).toBeGreaterThan(1e-3);
        for (const variant of ['materialised', 'ghost'] as const) {
          const numpy = await started.check(variant, rows);
          const diff = numpy.reduce((m, w, k) => Math.max(m, Math.abs(w - himas[k])), 0);
          expect(diff).toBeLessThan(1e-5);
        }
        const epoch = await started.epoch('ghost');
        expect(epoch.steps).toBe(5);
        expect(epoch.examples).toBeGreaterThan(0);
        expect(epoch.seconds).toBeGreaterThan(0);
      } finally {
        await started.close();
        model.dispose();
      }
    },
  );
});

describe('the DP-SGD vs numpy section of docs/benchmarks.md', () => {
  const summary = (median: number) => ({
    median,
    q1: median,
    q3: median,
    min: median,
    max: median,
    repeats: 3,
  });
  const figure = (ratio: number | null): DpSgdNumpyFigure => ({
    model: 'logistic 24→1 (default DP-SGD recipe)',
    backend: 'wasm',
    batchSize: 128,
    rows: 8192,
    stepsPerEpoch: 64,
    exampleClipNorm: 3,
    noiseMultiplier: 1,
    himas: summary(0.01),
    himasKernel: 'fused',
    tfjs: summary(0.5),
    numpy: ratio === null ? {} : { ghost: summary(0.01 * ratio) },
    himasSamplesPerSecond: 819200,
    tfjsSamplesPerSecond: 16384,
    numpySamplesPerSecond: ratio === null ? {} : { ghost: 819200 / ratio },
    ratioToNumpy: ratio,
    ratioPairs: ratio === null ? null : summary(ratio),
    numpyReference: ratio === null ? null : 'ghost',
    cpuRatioToNumpy: ratio,
    repeats: 3,
  });
  const results = (dpSgdNumpy: DpSgdNumpyResult) =>
    ({ machine: { cores: 2 }, training: { dpSgdNumpy } }) as unknown as BenchResults;

  it('says plainly when the numpy reference did not run, and still shows HIMAS', () => {
    const reason = 'python3 is not on PATH: the numpy reference was not run (the bench installs nothing)';
    const text = dpSgdNumpySection(
      results({
        numpy: { present: false, reason },
        backend: 'wasm',
        loadAverage: [1, 1],
        figures: [figure(null)],
      }),
    ).join('\n');
    expect(text).toContain(`⚠ **numpy reference not run**: ${reason}`);
    expect(text).toMatch(
      /\| logistic 24→1 \(default DP-SGD recipe\) \| 128 \| 8192 \| 819k \| fused \| 16.4k \| — \| — \| — \| — \| — \| 3 \|/,
    );
    expect(text).not.toContain('HIMAS ≥ numpy');
  });

  it('gives the ratio and says where HIMAS is ahead and behind', () => {
    const behind = { ...figure(0.5), batchSize: 1024 };
    const text = dpSgdNumpySection(
      results({
        numpy: { present: true, numpy: '2.4.6', python: '3.11.7' },
        backend: 'wasm',
        loadAverage: [2, 3],
        figures: [figure(1.5), behind],
      }),
    ).join('\n');
    expect(text).toContain('numpy 2.4.6, Python 3.11.7.');
    expect(text).toContain('**1.50** (1.50–1.50)');
    expect(text).toContain('- HIMAS ≥ numpy (wall-clock medians): logistic 24→1 at batch 128.');
    expect(text).toContain('- HIMAS < numpy: logistic 24→1 at batch 1024.');
  });
});
