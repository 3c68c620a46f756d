import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { himas, REPO_ROOT, startHimas } from '../e2e/cli-runner';
import { describeWithChromium, launchChromium } from './chromium';

/** Screenshots of every page, for people to look at (gitignored). */
const SHOTS = path.join(REPO_ROOT, 'test-output', 'console');

interface Console {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** `himas ui --port 0` as a user starts it; resolves with the URL it prints. */
function startConsole(cwd: string): Promise<Console> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'himas.js'), 'ui', '--port', '0'], {
    cwd,
    env: { ...process.env, HIMAS_HOME: path.join(cwd, '.himas') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /HIMAS console on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve({ child, url, output: () => output });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`himas ui exited ${code}: ${output}`)));
  });
}

/** Console errors, uncaught exceptions, failed requests and any request off this machine. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
  page.on('request', (r) => {
    if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(r.url())) problems.push(`outside request: ${r.url()}`);
  });
  return problems;
}

describeWithChromium('himas ui in a real browser (Debian Chromium)', () => {
  let cwd: string;
  let ui: Console;
  let browser: Browser;
  let stay: Record<string, unknown>;

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-ui-'));
    mkdirSync(SHOTS, { recursive: true });
    const generated = himas(
      ['data', 'generate', '--hospitals', '3', '--patients', '900', '--seed', '3', '--out', 'data'],
      { cwd },
    );
    if (generated.status !== 0) throw new Error(generated.stderr);
    // A real test stay, as the calculator's user would type it.
    const [header, first] = readFileSync(path.join(cwd, 'data', 'h1-academic.test.csv'), 'utf8').split('\n');
    const columns = header.split(',');
    const values = first.split(',');
    stay = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
    // The console starts before any run exists: it must show an empty state, then the run live.
    ui = await startConsole(cwd);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    ui?.child.kill('SIGTERM');
    rmSync(cwd, { recursive: true, force: true });
  });

  it("shows a run's progress updating while it trains, without a reload", async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(`${ui.url}/runs`);
    await page.getByText('No runs in this store yet.').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'runs-empty.png'), fullPage: true });
    const train = startHimas(
      [
        'train',
        '--data',
        'data',
        '--rounds',
        '5',
        '--run-id',
        'live',
        '--out',
        'out',
        '--job-runner',
        'in-process',
      ],
      { cwd },
    );
    const exited = new Promise<number | null>((resolve) => train.once('exit', resolve));
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const progress = page.locator('tr[data-run="live"] progress');
    // The row appears and its round advances while the run trains, by the page's own refresh.
    await progress.waitFor({ timeout: 120_000 });
    const seen = new Set<string>();
    while (train.exitCode === null) {
      const value = await progress.getAttribute('value').catch(() => null);
      if (value !== null && !seen.has(value)) {
        seen.add(value);
        await page.screenshot({ path: path.join(SHOTS, `runs-live-round-${value}.png`), fullPage: true });
      }
      await page.waitForTimeout(300);
    }
    expect(await exited).toBe(0);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    expect(navigations).toBe(0);
    await page.locator('tr[data-run="live"] .badge', { hasText: 'succeeded' }).waitFor({ timeout: 10_000 });
    await expect(progress.getAttribute('value')).resolves.toBe('5');
    expect(problems).toEqual([]);
  }, 300_000);

  it('loads every page with no console error and nothing fetched from outside', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watch(page);
    const pages: [string, string, RegExp][] = [
      ['runs', '/runs', /1 run, newest first/],
      ['run', '/runs/live', /Pooled AUROC by round/],
      ['models', '/models', /model versions?, newest first/],
      ['ledgers', '/ledgers', /h1-academic: each mechanism composed alone/],
      ['agents', '/agents', /Serves/],
      ['audit', '/audit', /records?/],
      ['calculator', '/calculator', /Estimate risk/],
    ];
    for (const [name, url, expected] of pages) {
      const response = await page.goto(`${ui.url}${url}`);
      expect(response?.status()).toBe(200);
      await expect(page.locator('main').innerText()).resolves.toMatch(expected);
      await expect(page.locator('h1').count()).resolves.toBe(1);
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    }
    // Observable Plot drew the charts (served by the console itself).
    await page.goto(`${ui.url}/runs/live`);
    await page.locator('[data-chart="auroc"] svg').waitFor();
    await page.locator('[data-chart="calibration"] svg').waitFor();
    // Keyboard: the skip link is the first stop and moves focus to the content.
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to content');
    // The audit filter narrows the log.
    await page.goto(`${ui.url}/audit?action=update.submitted`);
    const actions = await page.locator('tbody th[scope="row"]').allInnerTexts();
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['update.submitted']));
    // A bad filter is a 400 naming the field, not a crash.
    const bad = await page.goto(`${ui.url}/audit?outcome=maybe`);
    expect(bad?.status()).toBe(400);
    expect(problems.filter((p) => !p.includes('400'))).toEqual([]);
  }, 120_000);

  it('round-trips the risk calculator and never logs what was typed', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems = watch(page);
    await page.goto(`${ui.url}/calculator?run=live`);
    await page.getByLabel('First care unit').selectOption(String(stay.first_careunit));
    const typed = { age: '67.25', heart_rate_mean: '97.5', sbp_mean: '101.5', lactate_max: '4.375' };
    for (const [name, value] of Object.entries({ ...numericOf(stay), ...typed }))
      await page.locator(`#f-${name}`).fill(value);
    await page.getByRole('button', { name: 'Estimate risk' }).click();
    const result = page.locator('#calc-result .result');
    await result.waitFor();
    const text = await result.innerText();
    expect(text).toMatch(/Estimated in-hospital mortality risk\s+\d+\.\d %/);
    expect(text).toMatch(/Band: (low|moderate|high|very high)/i);
    expect(text).toMatch(/Model live-r0005 \(run live, round 5\)/);
    expect(text).toMatch(/Privacy: patient-level ε = /);
    expect(await result.locator('table tr').count()).toBeGreaterThan(1);
    await page.screenshot({ path: path.join(SHOTS, 'calculator-answer.png'), fullPage: true });

    // Too little data: "insufficient data", not a number.
    await page.goto(`${ui.url}/calculator?run=live`);
    await page.locator('#f-age').fill('70');
    await page.getByRole('button', { name: 'Estimate risk' }).click();
    await page.getByText('Insufficient data: no risk estimate').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'calculator-insufficient.png'), fullPage: true });
    expect(problems).toEqual([]);
    for (const value of Object.values(typed)) expect(ui.output()).not.toContain(value);
  }, 120_000);

  it('refuses a halted model exactly as `himas predict --stay` does', async () => {
    const epsilon = himas(
      [
        'privacy',
        'epsilon',
        '--noise-multiplier',
        '5',
        '--sampling-rate',
        '1',
        '--steps',
        '1',
        '--delta',
        '1e-5',
        '--json',
      ],
      { cwd },
    );
    const oneRound = String((JSON.parse(epsilon.stdout) as { epsilon: number }).epsilon);
    // Last, because a run without DP-SGD spends every hospital's lifetime budget.
    const halted = himas(
      [
        'train',
        '--data',
        'data',
        '--job-runner',
        'in-process',
        '--rounds',
        '2',
        '--run-id',
        'halted',
        '--out',
        'out-halted',
        '--noise-multiplier',
        '5',
        '--epsilon-budget',
        oneRound,
        '--patient-privacy',
        'none',
      ],
      { cwd },
    );
    expect(halted.status).toBe(3);
    const stayFile = path.join(cwd, 'stay.json');
    writeFileSync(stayFile, JSON.stringify({ first_careunit: stay.first_careunit, ...numbersOf(stay) }));
    const cli = himas(['predict', '--run', 'halted', '--stay', stayFile], { cwd });
    expect(cli.status).toBe(2);
    const reason = /no servable model: (.*)$/m.exec(cli.stderr)?.[1];
    expect(reason).toMatch(/halted by the privacy guardian/);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems = watch(page);
    await page.goto(`${ui.url}/calculator?run=halted`);
    await page.getByLabel('First care unit').selectOption(String(stay.first_careunit));
    for (const [name, value] of Object.entries(numericOf(stay))) await page.locator(`#f-${name}`).fill(value);
    await page.getByRole('button', { name: 'Estimate risk' }).click();
    const refusal = page.locator('#calc-result .result[role="alert"]');
    await refusal.waitFor();
    await expect(refusal.locator('h2').innerText()).resolves.toBe('Refused: no servable model');
    await expect(refusal.locator('p').innerText()).resolves.toBe(reason);
    await page.screenshot({ path: path.join(SHOTS, 'calculator-halted.png'), fullPage: true });
    // The models page marks the halted run's versions refused, with the same reason.
    await page.goto(`${ui.url}/models?run=halted`);
    await expect(page.locator('main').innerText()).resolves.toMatch(/refused/);
    await page.screenshot({ path: path.join(SHOTS, 'models-halted.png'), fullPage: true });
    expect(problems.filter((p) => !p.includes('503'))).toEqual([]);
  }, 240_000);
});

const SKIP = new Set([
  'stay_id',
  'first_careunit',
  'label_inhospital_mortality',
  'admittime',
  'vasopressor_day1',
]);

/** The stay's measured numeric values as the form's text. */
function numericOf(stay: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stay)
      .filter(([k, v]) => !SKIP.has(k) && v !== '' && v !== undefined && !Number.isNaN(Number(v)))
      .map(([k, v]) => [k, String(v)]),
  );
}

function numbersOf(stay: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(numericOf(stay)).map(([k, v]) => [k, Number(v)]));
}
