import { TrainingReportSchema } from '../../../../schemas/report';
import { renderReportHtml } from '../../../../src/cli/report/report-html';
import { buildReport, HOSTILE_ID } from './report-fixture';

const count = (text: string, pattern: RegExp): number => (text.match(pattern) ?? []).length;

/** The <svg> element of the chart with this id (its accessible title id is `${id}-title`). */
function chartSvg(page: string, id: string): string {
  const match = new RegExp(`<svg id="${id}"[^>]*aria-labelledby="${id}-title"[\\s\\S]*?</svg>`).exec(page);
  if (!match) throw new Error(`no chart ${id}`);
  return match[0];
}

/** The <figure> around a chart: its title, facts, note and data table. */
function chartFigure(page: string, id: string): string {
  const start = page.lastIndexOf('<figure class="chart', page.indexOf(`<svg id="${id}"`));
  const end = page.indexOf('</details>', start);
  if (start < 0 || end < 0) throw new Error(`no figure for ${id}`);
  return page.slice(start, end);
}

/** The tooltips of one mark's elements: Plot gives every dot, rule or line a <title>. */
const titles = (svg: string): string[] => [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);

/** The rows of a chart's data table: [row header, ...cells]. */
function tableRows(figure: string): string[][] {
  const body = figure.slice(figure.indexOf('<tbody>'), figure.indexOf('</tbody>'));
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((c) => c[1]),
  );
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
    expect(page).toContain('ε = 3.22, δ = 1e-5');
    expect(page).toContain('rdp-sampled-gaussian+balle2020');
  });

  it('draws every chart with Observable Plot, each with a title, a description and its numbers', () => {
    const ids = [
      'chart-auroc',
      'chart-test-loss',
      'chart-train-loss',
      'chart-reliability-pooled',
      'chart-reliability-1',
      'chart-reliability-2',
      'chart-reliability-3',
    ];
    expect(count(page, /<svg id="chart-[a-z0-9-]+"/g)).toBe(ids.length);
    expect(page).not.toContain('class="line-chart"'); // the hand-written renderer is gone
    for (const id of ids) {
      const svg = chartSvg(page, id);
      expect(svg).toContain('class="himas-plot"');
      expect(svg).toMatch(new RegExp(`<title id="${id}-title">[^<]+</title>`));
      expect(svg).toMatch(new RegExp(`<desc id="${id}-desc">[^<]+</desc>`));
      expect(svg).toContain('role="img"');
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
      expect(chartFigure(page, id)).toMatch(/<details class="chart-data">\s*<summary>/);
    }
  });

  it('plots each evaluated version per hospital and pooled, with the pooled noise interval', () => {
    const auroc = chartSvg(page, 'chart-auroc');
    const points = titles(auroc).filter((t) => t.includes(', version of round '));
    // Versions 0, 1, 2 and 5 were evaluated (v4 was not): 4 pooled points, and 4 per hospital,
    // less st-mary-icu's v0, whose AUROC was not computable.
    const pooled = points.filter((t) => t.startsWith('Pooled (all hospitals), version of round'));
    expect(pooled.map((t) => Number(/round (\d+)/.exec(t)![1]))).toEqual([0, 1, 2, 5]);
    expect(points.filter((t) => t.startsWith('st-mary-icu,'))).toHaveLength(3);
    expect(points.filter((t) => t.startsWith('northgate-general,'))).toHaveLength(4);
    const final = report.finalModel!.quality!;
    const [low, high] = final.intervals!.auroc!;
    expect(pooled).toContain(
      `Pooled (all hospitals), version of round 5: ${Number(final.pooled.auroc!.toPrecision(3))} (95 % noise interval ${Number(low.toPrecision(3))}–${Number(high.toPrecision(3))})`,
    );
    // The legend names every series; its swatches are hidden from screen readers.
    const legend = page.slice(page.indexOf('himas-plot-swatches'), page.indexOf('<svg id="chart-auroc"'));
    for (const name of ['Pooled (all hospitals)', 'st-mary-icu', 'northgate-general', 'riverside-university'])
      expect(legend).toContain(`</svg>${name}</span>`);
    expect(legend).not.toMatch(/<svg(?![^>]*aria-hidden="true")[^>]*>/);
    // The same numbers as a table: one row per evaluated version.
    const rows = tableRows(chartFigure(page, 'chart-auroc'));
    expect(rows.map((r) => r[0])).toEqual(['0', '1', '2', '5']);
    expect(rows[0][3]).toBe('—'); // st-mary-icu's v0
  });

  it('draws training loss by round when the hospitals report it (no DP-SGD)', () => {
    const trainLoss = chartSvg(page, 'chart-train-loss');
    const points = titles(trainLoss).filter((t) => / round \d+: /.test(t));
    expect(points.some((t) => t.startsWith('Pooled'))).toBe(false);
    // 3 hospitals × 5 rounds, less round 3's two non-participants and round 2's missing loss.
    expect(points).toHaveLength(12);
    expect(page).not.toContain('id="no-train-loss"');
  });

  it('shows no empty training-loss chart under DP-SGD, and says why in one line', () => {
    const dp = renderReportHtml(buildReport({ dpSgd: true }));
    expect(dp).not.toContain('id="chart-train-loss"');
    const note = /<p class="chart-omitted" id="no-train-loss">([^<]+)<\/p>/.exec(dp);
    expect(note?.[1]).toMatch(
      /^No training-loss chart: under patient-level DP-SGD the hospitals do not release their training loss/,
    );
    // What is known round by round is still drawn.
    expect(dp).toContain('<svg id="chart-auroc"');
    expect(dp).toContain('<svg id="chart-test-loss"');
  });

  it('draws a reliability diagram pooled and per hospital from the released histograms', () => {
    const quality = report.finalModel!.quality!;
    const charts = [
      ['chart-reliability-pooled', 'Pooled (all hospitals)', quality.histograms!.pooled],
      ...report.hospitals.map(
        (h, i) =>
          [
            `chart-reliability-${i + 1}`,
            h.hospitalId,
            quality.histograms!.perHospital[h.hospitalId],
          ] as const,
      ),
    ] as const;
    for (const [id, name, histogram] of charts) {
      const svg = chartSvg(page, id);
      const figure = chartFigure(page, id);
      expect(figure).toContain(`<figcaption id="${id}-caption">Reliability: ${name}</figcaption>`);
      // The ideal, and one dot per bin with enough stays, each with its counts.
      expect(titles(svg)).toContain('ideal: observed = predicted');
      const dots = titles(svg).filter((t) => t.startsWith(`${name}, predicted `));
      const rows = tableRows(figure);
      expect(rows).toHaveLength(histogram.positives.length); // all 13 bins in the table
      const drawn = rows.filter((r) => r[3] !== 'too few to say');
      expect(dots).toHaveLength(drawn.length);
      expect(drawn.length).toBeGreaterThan(3);
      for (const dot of dots)
        expect(dot).toMatch(
          /observed [\d.]+% \(95 % interval [\d.]+%–[\d.]+%\), ≈ [\d,]+ stays, ≈ [\d,]+ deaths$/,
        );
      // The bins' stays add up to the released (noisy, clamped) total.
      const stays = rows.reduce((sum, r) => sum + Number(r[1].replace(/,/g, '')), 0);
      const clamped = histogram.positives.reduce(
        (s, c, b) => s + Math.max(0, c) + Math.max(0, histogram.negatives[b]),
        0,
      );
      expect(Math.abs(stays - clamped)).toBeLessThanOrEqual(histogram.positives.length);
      // O:E and slope beside it, with their noise intervals; the noise is stated.
      expect(figure).toMatch(
        /<li( class="off-target"[^>]*)?>O:E [\d.]+ \(95 % noise interval [\d.]+–[\d.]+\); ideal 1/,
      );
      expect(figure).toMatch(/Calibration slope [\d.]+ \(95 % noise interval/);
      expect(figure).toContain(
        `Counts carry DP noise (SD ${Number(histogram.noiseStd.toPrecision(3))} per count)`,
      );
    }
  });

  it("flags an off-target O:E beside its hospital's diagram, and leaves a calibrated one alone", () => {
    const quality = report.finalModel!.quality!;
    const [first, , third] = report.hospitals.map((h) => h.hospitalId);
    const oe = (id: string) => quality.perHospital[id].observedExpectedRatio!;
    // The fixture's hospitals are generated with O:E 1.1, 1.35 and 1.6 against the bins' midpoints.
    expect(oe(third)).toBeGreaterThan(1.25);
    expect(chartFigure(page, 'chart-reliability-3')).toMatch(
      /<li class="off-target" title="O:E outside 0.8–1.25">O:E /,
    );
    if (oe(first) >= 0.8 && oe(first) <= 1.25)
      expect(chartFigure(page, 'chart-reliability-1')).toMatch(/<li>O:E /);
  });

  it('says so when the final model has no released histograms (exact scoring only)', () => {
    const base = buildReport();
    const exact = { ...base.finalModel!.quality!, histograms: undefined, hospitalIntervals: undefined };
    const html = renderReportHtml({ ...base, finalModel: { ...base.finalModel!, quality: exact } });
    expect(html).not.toContain('id="chart-reliability-pooled"');
    expect(html).toContain('No released risk histograms in this report: no reliability diagram.');
  });

  it('rounds figures for people: 3 significant digits, ε rounded up', () => {
    // ε 3.2174 is shown as 3.22, never as a stronger 3.21; z, C and q as 1.1, 1 and 0.0107.
    expect(page).toContain('ε = 3.22, δ = 1e-5');
    expect(page).toMatch(/Sampling probability q<\/dt>\s*<dd>0\.0107<\/dd>/);
    // Outside the configuration (the settings as given) and the SVG drawing coordinates, no
    // number in the page carries more than 3 significant digits.
    const text = page
      .replace(/<section id="configuration">[\s\S]*?<\/section>/, '')
      .replace(/<(path|line|circle|rect|g|svg|text)\b[^>]*>/g, '')
      .replace(/<style>[\s\S]*?<\/style>/g, '');
    const decimals = [...text.matchAll(/(?<![\w.-])\d+\.\d+(?![\w.])/g)].map((m) => m[0]);
    expect(decimals.length).toBeGreaterThan(50);
    const significant = (d: string) => d.replace('.', '').replace(/^0+/, '').length;
    expect(decimals.filter((d) => significant(d) > 3)).toEqual([]);
    expect(page).toContain('2026-11-27 18:40:12 UTC');
  });

  it('lists each baseline once', () => {
    const base = buildReport();
    const quality = base.finalModel!.quality!;
    const names = ['federated (exact)', 'central', 'local-only', 'non-private federated'];
    const html = renderReportHtml({
      ...base,
      baselines: names.map((name) => ({ name, description: `the ${name} model`, quality })),
    });
    const section = html.slice(
      html.indexOf('<section id="baselines">'),
      html.indexOf('<section id="rounds">'),
    );
    for (const name of names)
      expect(count(section, new RegExp(`<th scope="row">${name.replace(/[()]/g, '\\$&')}<`, 'g'))).toBe(1);
    expect(count(section, /<tr( class="reference")?>\s*<th scope="row">/g)).toBe(names.length);
  });

  it('renders the same page for the same report', () => {
    expect(renderReportHtml(buildReport())).toBe(page);
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
    expect(count(html, /<svg id="chart-/g)).toBe(3 + 4); // three round charts, four reliability diagrams
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('renders a 50-hospital report with a wrapped legend and a compact baselines table', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `hospital-${String(i + 1).padStart(2, '0')}`);
    const html = renderReportHtml(buildReport({ hospitalIds: ids, rounds: 12, failedRounds: [4] }));
    const lines = titles(chartSvg(html, 'chart-auroc')).filter((t) => t.includes(', version of round 12:'));
    expect(lines).toHaveLength(51); // pooled + 50 hospitals at the final version
    expect(count(html, /<svg id="chart-reliability-/g)).toBe(51);
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
    expect(html).toContain('Test AUROC by model version: no model version has been evaluated yet.');
    expect(html).not.toContain('<svg id="chart-');
    expect(html).toContain('No training-loss chart: no hospital reported a training loss.');
    expect(html).not.toMatch(/NaN|Infinity/);
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
    const sig = (x: number) => String(Number(x.toPrecision(3)));
    const difference = final - 0.855;
    expect(html.replace(/\s+/g, ' ')).toContain(
      `pooled test AUROC ${sig(final)} with DP-SGD (ε = ${base.config.patientTargetEpsilon} per hospital, δ = ${base.config.delta}) vs 0.855 for the non-private federated model: difference ${difference > 0 ? '+' : ''}${sig(difference)}.`,
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
      /<td class="num off-target" title="O:E outside 0\.8–1\.25 \(1 is ideal\)" >1\.6 ⚠<\/td>/,
    );
    expect(html).not.toMatch(/title="calibration slope outside[^"]*" >1\.1 /);
    expect(html).toContain(
      `<strong>Local-only beats federated</strong> at ${ids[0]} (AUROC 0.9 alone vs 0.7 federated)`,
    );
    // The exact federated row is there, so the noisy final-model row is not repeated.
    expect(html).not.toContain('HIMAS federated (final model)');
    expect(renderReportHtml(base)).toContain('HIMAS federated (final model)');
  });
});
