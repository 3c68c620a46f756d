import { TrainingReportSchema } from '../../../../schemas/report';
import { renderReportHtml } from '../../../../src/cli/report/report-html';
import { buildReport, HOSTILE_ID } from './report-fixture';

const count = (text: string, pattern: RegExp): number => (text.match(pattern) ?? []).length;

/** The <svg> element of the chart whose accessible title id starts with `id`. */
function chartSvg(page: string, id: string): string {
  const match = new RegExp(`<svg[^>]*aria-labelledby="${id}-title[\\s\\S]*?</svg>`).exec(page);
  if (!match) throw new Error(`no chart ${id}`);
  return match[0];
}

describe('renderReportHtml', () => {
  const report = buildReport();
  const page = renderReportHtml(report);

  it('renders a valid fixture: 3 hospitals, 5 rounds, one failed, two guarantees', () => {
    expect(() => TrainingReportSchema.parse(report)).not.toThrow();
    expect(report.hospitals).toHaveLength(3);
    expect(report.rounds.filter((r) => r.status === 'failed')).toHaveLength(1);
    expect(report.versions.some((v) => v.quality === null)).toBe(true);
  });

  it('is one complete HTML document', () => {
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toMatch(
      /<html lang="en">[\s\S]*<head>[\s\S]*<\/head>[\s\S]*<body>[\s\S]*<\/body>\s*<\/html>\s*$/,
    );
    expect(page).toContain('<meta charset="utf-8">');
    expect(page).toMatch(/<title>HIMAS run run-2026-11-27T18-40-12-8f3a — succeeded<\/title>/);
    for (const tag of ['svg', 'table', 'section', 'dl', 'figure']) {
      expect(count(page, new RegExp(`<${tag}[\\s>]`, 'g'))).toBe(count(page, new RegExp(`</${tag}>`, 'g')));
    }
  });

  it('loads nothing from the network', () => {
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).not.toMatch(/\s(src|href)\s*=/i);
    expect(page).not.toMatch(/<(script|link|img|iframe|object|embed)[\s>]/i);
    expect(page).not.toMatch(/@import|url\(/i);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('has the header facts', () => {
    expect(page).toContain('run-2026-11-27T18-40-12-8f3a');
    expect(page).toContain('badge-completed');
    expect(page).toContain('embedded (tfjs-node, 2 workers)');
    expect(page).toContain('3 min 29 s');
    expect(page).toContain('.himas/runs/run-2026-11-27/cohort &amp; &quot;stays&quot;.csv');
    expect(page).toMatch(/northgate-general<\/th>\s*<td class="num">1,756<\/td>\s*<td class="num">439<\/td>/);
  });

  it('states ε = ∞ for the guarantee without noise and the finite ε exactly', () => {
    expect(page).toContain('ε = ∞ — no differential-privacy guarantee (noise multiplier 0)');
    expect(page).toContain('ε = 3.217, δ = 1e-5');
    expect(page).toContain('rdp-sampled-gaussian+balle2020');
  });

  it('draws the three charts, one path per series', () => {
    expect(count(page, /<svg /g)).toBe(3);
    const auroc = chartSvg(page, 'chart-auroc');
    const testLoss = chartSvg(page, 'chart-test-loss');
    const trainLoss = chartSvg(page, 'chart-train-loss');
    expect(count(auroc, /<path\s+class="series-line"/g)).toBe(4); // pooled + 3 hospitals
    expect(count(testLoss, /<path\s+class="series-line"/g)).toBe(4);
    expect(count(trainLoss, /<path\s+class="series-line"/g)).toBe(3);
    for (const svg of [auroc, testLoss, trainLoss]) {
      expect(svg).toMatch(/<title id="chart-[a-z-]+-title">[^<]+<\/title>/);
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    }
    expect(auroc).toContain('>Pooled (all hospitals)</text>');
    expect(trainLoss).not.toContain('Pooled (all hospitals)');
    // The unevaluated version (v4) is skipped: AUROC points are at rounds 0, 1, 2 and 5 only.
    const pooledPoints = count(auroc.slice(auroc.indexOf('class="series emphasis"')), /<circle /g);
    expect(pooledPoints).toBe(4);
  });

  it('has the final-model table with dashes for null metrics', () => {
    expect(page).toMatch(/<th scope="row">Pooled \(all hospitals\)<\/th>/);
    expect(page).toContain('Calibration slope');
    const local = page.slice(page.indexOf('local-only'));
    expect(local).toMatch(/<td class="num">—<\/td>/);
  });

  it('labels the baselines as simulation only', () => {
    expect(page).toContain('<strong>Simulation only:</strong>');
    expect(page).toContain('pools records, which a real deployment never does');
    expect(page).toContain('centralized-mlp');
    expect(page).toContain('The same MLP trained on all hospitals’ pooled training records.');
  });

  it('lists every round with its status, failure reason and ε', () => {
    expect(count(page, /<tr class="status-(closed|failed)">/g)).toBe(5);
    expect(page).toContain('quorum not reached: 0 of 3 accepted updates before the deadline');
    expect(page).toContain('update L2 norm 14.2 exceeds the clip norm check');
    expect(page).toContain('10 min 00 s');
  });

  it('shows the configuration and the notes', () => {
    expect(page).toMatch(/<dt><code>noiseMultiplier<\/code><\/dt>\s*<dd>0<\/dd>/);
    expect(page).toMatch(/<dt><code>hiddenUnits<\/code><\/dt>\s*<dd>64, 32<\/dd>/);
    expect(page).toContain(
      '<li>No noise was added (noise multiplier 0): the hospital-level guarantee is ε = ∞.</li>',
    );
  });

  it('escapes a hostile hospital id everywhere it appears', () => {
    const hostile = renderReportHtml(
      buildReport({ hospitalIds: ['st-mary-icu', HOSTILE_ID, 'riverside-university'] }),
    );
    expect(hostile).not.toContain('<script');
    expect(hostile).not.toContain(HOSTILE_ID);
    expect(count(hostile, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/g)).toBeGreaterThan(5);
  });

  it('renders a 1-round report', () => {
    const one = buildReport({ rounds: 1 });
    expect(one.rounds).toHaveLength(1);
    const html = renderReportHtml(one);
    expect(count(html, /<svg /g)).toBe(3);
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('renders a 50-hospital report with a wrapped legend and a compact baselines table', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `hospital-${String(i + 1).padStart(2, '0')}`);
    const html = renderReportHtml(buildReport({ hospitalIds: ids, rounds: 12, failedRounds: [4] }));
    expect(count(chartSvg(html, 'chart-auroc'), /<path\s+class="series-line"/g)).toBe(51);
    expect(html).toContain('class="per-hospital"');
    expect(html).toContain('<summary>50 hospitals</summary>');
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('renders a run that has no rounds, no final model, no guarantee and no baselines yet', () => {
    const empty = TrainingReportSchema.parse({
      ...buildReport(),
      status: 'running',
      completedAt: null,
      wallSeconds: null,
      rounds: [],
      versions: [{ versionId: 'v0', round: 0, quality: null }],
      outcome: {
        kind: 'running',
        reason: 'run r has not finished',
        modelVersionId: null,
        divergedVersionId: null,
        divergence: null,
      },
      finalModel: null,
      privacy: [],
      baselines: [],
      notes: [],
    });
    const html = renderReportHtml(empty);
    expect(html).toContain('No round has started.');
    expect(html).toContain('This run left no model to serve: run r has not finished.');
    expect(html).toContain('No privacy guarantee was recorded for this run');
    expect(count(html, /No data/g)).toBe(3);
  });

  it('says first that a halted run left no model to serve, and shows no green guarantee for it', () => {
    const base = buildReport();
    const halted = TrainingReportSchema.parse({
      ...base,
      status: 'halted',
      haltReason: 'ε budget <4> reached',
      outcome: {
        kind: 'halted',
        reason: 'halted by aggregator before any model was trained within its limits: ε budget <4> reached',
        modelVersionId: null,
        divergedVersionId: null,
        divergence: null,
      },
      finalModel: null,
      privacy: base.privacy.map((g) => (g.unit === 'hospital' ? { ...g, epsilon: 0, steps: 0 } : g)),
    });
    const html = renderReportHtml(halted);
    expect(html).toContain('badge-halted');
    expect(html).toMatch(/<title>HIMAS run \S+ — halted, no model to serve<\/title>/);
    expect(html).toContain(
      '<strong>No model to serve — halted, no model to serve:</strong> halted by aggregator before any model was trained within its limits: ε budget &lt;4&gt; reached.',
    );
    // The outcome comes before the privacy section and the tables.
    expect(html.indexOf('class="outcome outcome-halted"')).toBeLessThan(html.indexOf('id="privacy"'));
    expect(html).toContain('No model version was released: nothing to guarantee (0 rounds accounted)');
    expect(html).toMatch(/class="guarantee no-release"/);
    expect(html).not.toMatch(/<p class="claim">ε = 0\.000/);
    expect(html).toContain('This run left no model to serve');
  });

  it('shows a diverged run as diverged, with no final model', () => {
    const diverged = TrainingReportSchema.parse({
      ...buildReport(),
      outcome: {
        kind: 'diverged',
        reason:
          'training diverged: v4 is worse than the initial model (pooled loss rose from 0.726 (initial model) to 1.648)',
        modelVersionId: null,
        divergedVersionId: 'v4',
        divergence: {
          diverged: true,
          judged: true,
          reason: 'pooled loss rose from 0.726 (initial model) to 1.648',
        },
      },
      finalModel: null,
    });
    const html = renderReportHtml(diverged);
    expect(html).toContain('class="outcome outcome-diverged"');
    expect(html).toContain('Its last version, v4, is in the versions above and is not served.');
    expect(html).toContain(
      'The run left no model to serve; this is the guarantee of the versions it did release.',
    );
  });

  it('puts the DP-SGD model next to the non-private federated baseline and states the difference', () => {
    const base = buildReport();
    const withBaseline = {
      ...base,
      baselines: [
        ...base.baselines,
        {
          name: 'non-private federated',
          description: 'the same hospitals and rounds without DP-SGD',
          quality: {
            ...base.finalModel!.quality!,
            pooled: { ...base.finalModel!.quality!.pooled, auroc: 0.855 },
          },
        },
      ],
    };
    const html = renderReportHtml(withBaseline);
    const final = base.finalModel!.quality!.pooled.auroc!;
    expect(html).toContain('<th scope="row">non-private federated');
    expect(html.replace(/\s+/g, ' ')).toContain(
      `pooled test AUROC ${final.toFixed(3)} with DP-SGD (ε = ${base.config.patientTargetEpsilon} per hospital, δ = ${base.config.delta}) vs 0.855 for the non-private federated model: difference ${final - 0.855 >= 0 ? '+' : ''}${(final - 0.855).toFixed(3)}.`,
    );
    expect(renderReportHtml(base)).not.toContain('Cost of patient-level privacy');
  });

  it('flags calibration outside the ranges a clinician trusts, and says where local-only wins', () => {
    const base = buildReport();
    const ids = base.hospitals.map((h) => h.hospitalId);
    const exact = base.finalModel!.quality!;
    const report = {
      ...base,
      finalModel: {
        ...base.finalModel!,
        quality: { ...exact, pooled: { ...exact.pooled, observedExpectedRatio: 1.6, calibrationSlope: 1.1 } },
      },
      baselines: [
        {
          name: 'federated (exact)',
          description: 'the final federated model, scored exactly',
          quality: {
            ...exact,
            perHospital: { ...exact.perHospital, [ids[0]]: { ...exact.perHospital[ids[0]], auroc: 0.7 } },
          },
        },
        {
          name: 'local-only',
          description: 'each hospital alone',
          quality: {
            ...exact,
            perHospital: { ...exact.perHospital, [ids[0]]: { ...exact.perHospital[ids[0]], auroc: 0.9 } },
          },
        },
      ],
    };
    const html = renderReportHtml(report).replace(/\s+/g, ' ');
    expect(html).toMatch(
      /<td class="num off-target" title="O:E outside 0\.8–1\.25 \(1 is ideal\)" >1\.600 ⚠<\/td>/,
    );
    expect(html).not.toMatch(/title="calibration slope outside[^"]*" >1\.100/);
    expect(html).toContain(
      `<strong>Local-only beats federated</strong> at ${ids[0]} (AUROC 0.900 alone vs 0.700 federated)`,
    );
    // The exact federated row is there, so the noisy final-model row is not repeated.
    expect(html).not.toContain('HIMAS federated (final model)');
    expect(renderReportHtml(base)).toContain('HIMAS federated (final model)');
  });
});
