import { strategySection } from '../../../bench/report/strategies-section';
import { benchStrategies, roundLearningRate, STRATEGY_ROWS } from '../../../bench/suites/strategies';
import { initializeBackend } from '../../../src/core/model';

jest.setTimeout(120_000);

describe('strategy table (issue 14)', () => {
  beforeAll(async () => {
    await initializeBackend();
  });

  it('trains every row at the privacy defaults and counts where local-only wins', async () => {
    const rows = STRATEGY_ROWS.filter((r) => ['default', 'fedyogi', 'median'].includes(r.id));
    const result = await benchStrategies({
      preset: 'eicu-like',
      hospitals: 4,
      rounds: 2,
      seeds: [3],
      strategies: rows,
    });
    expect(result.rows.map((r) => r.id)).toEqual(['central', 'localOnly', 'default', 'fedyogi', 'median']);
    // The rows train with the schema's DP-SGD defaults, not a bench-only recipe.
    expect(result.defaults).toMatchObject({
      model: 'logistic',
      exampleClipNorm: 3,
      patientTargetEpsilon: 1,
    });
    for (const id of ['default', 'fedyogi', 'median']) {
      const seed = result.raw[0].rows[id];
      expect(seed.auroc).toBeGreaterThan(0.5);
      expect(seed.comparedHospitals).toBeGreaterThan(0);
      expect(seed.localOnlyWins).toBeGreaterThanOrEqual(0);
      expect(seed.localOnlyWins).toBeLessThanOrEqual(seed.comparedHospitals);
      expect(seed.worstLogOE).not.toBeNull();
    }
    // Different strategies are different models.
    expect(result.raw[0].rows.default.auroc).not.toBe(result.raw[0].rows.median.auroc);

    const page = strategySection(result).join('\n');
    expect(page).toContain('| FedYogi (server lr 0.05) |');
    expect(page).toContain('worst \\|ln O:E\\|');
  });

  it('scores each hospital with its own intercept in the site-intercept variant', async () => {
    const result = await benchStrategies({
      preset: 'archetypes',
      hospitals: 3,
      patients: 1500,
      rounds: 2,
      seeds: [4],
      strategies: [
        { id: 'default', label: 'default', overrides: {} },
        { id: 'site', label: 'site intercept', overrides: {}, variant: { siteIntercept: true } },
      ],
    });
    const { default: shared, site } = result.raw[0].rows;
    expect(site.auroc).toBeGreaterThan(0.5);
    expect(site.worstLogOE).not.toBeNull();
    // Another model at every hospital: its intercept is its own, not the shared one.
    expect(site.observedExpected).not.toBe(shared.observedExpected);
  });

  it('decays the local learning rate on the schedules the harness measures', () => {
    expect(roundLearningRate(0.01, 'constant', 10, 10)).toBe(0.01);
    expect(roundLearningRate(0.01, 'cosine', 1, 10)).toBeCloseTo(0.01, 12);
    expect(roundLearningRate(0.01, 'cosine', 10, 10)).toBeCloseTo(0.001, 12);
    expect(roundLearningRate(0.01, 'last-third', 7, 10)).toBe(0.01);
    expect(roundLearningRate(0.01, 'last-third', 8, 10)).toBeCloseTo(0.01 / 3, 12);
  });

  it('flags calibration outside the clinical targets', () => {
    const interval = (mean: number) => ({ mean, sd: 0.1, low: mean - 0.1, high: mean + 0.1, n: 3 });
    const pooled = (slope: number) => ({
      auroc: interval(0.85),
      auprc: interval(0.4),
      observedExpected: interval(1),
      calibrationSlope: interval(slope),
      worstLogOE: interval(0.3),
      localOnlyWins: interval(1),
    });
    const page = strategySection({
      settings: { preset: 'eicu-like', hospitals: 10, rounds: 10, seeds: [1] },
      rows: [
        { id: 'good', label: 'good' },
        { id: 'bad', label: 'bad' },
      ],
      defaults: {
        model: 'logistic',
        batchSize: 128,
        localEpochs: 4,
        localLearningRate: 0.01,
        exampleClipNorm: 2.5,
        clipNorm: 2,
        patientTargetEpsilon: 1,
        delta: 1e-5,
      },
      trainStays: [[60, 100]],
      pooled: { good: pooled(1), bad: pooled(1.6) },
      seconds: 1,
      raw: [{ seed: 1, rows: {} }],
    }).join('\n');
    expect(page).toMatch(/\| good \|[^\n]*\| 1\.00 \[0\.90, 1\.10\] \|/);
    expect(page).toMatch(/\| bad \|[^\n]*1\.60 \[1\.50, 1\.70\] ⚠/);
    expect(page).toContain('δ = 1e-5');
  });
});
