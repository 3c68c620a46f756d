import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FilePatientLedgerStore,
  patientLedgerDir,
} from '../../../src/adapters/ledger/file-patient-ledger-store';
import type { PatientLedgersView } from '../../../src/cli/privacy-ledger-view';
import { computeEpsilon, dpSgdPrivacyEvent } from '../../../src/core/privacy';
import { expectOneLineError, himas, REPO_ROOT, type CliResult } from '../../e2e/cli-runner';

const run = (...args: string[]): CliResult =>
  himas(['privacy', ...args], { cwd: REPO_ROOT, timeoutMs: 60_000 });

function json(result: CliResult): Record<string, unknown> {
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('himas privacy epsilon', () => {
  it('reproduces the published q = 1, z = 0.7, T = 2, δ = 1e-5 → ε = 10.8602036 (dp_accounting) as exactly {epsilon, order}', () => {
    const out = json(
      run(
        'epsilon',
        '--noise-multiplier',
        '0.7',
        '--sampling-rate',
        '1',
        '--steps',
        '2',
        '--delta',
        '1e-5',
        '--json',
      ),
    );
    expect(Object.keys(out).sort()).toEqual(['epsilon', 'order']);
    expect(out.epsilon as number).toBeCloseTo(10.8602036, 6);
    expect(typeof out.order).toBe('number');
  });

  it('honours --orders and prints ε = ∞ as null when there is no noise', () => {
    const restricted = json(
      run(
        'epsilon',
        '--noise-multiplier',
        '0.7',
        '--sampling-rate',
        '1',
        '--steps',
        '2',
        '--delta',
        '1e-5',
        '--orders',
        '2,4',
        '--json',
      ),
    );
    expect([2, 4]).toContain(restricted.order);
    expect(restricted.epsilon as number).toBeGreaterThan(10.8602036);
    expect(
      json(
        run(
          'epsilon',
          '--noise-multiplier',
          '0',
          '--sampling-rate',
          '1',
          '--steps',
          '2',
          '--delta',
          '1e-5',
          '--json',
        ),
      ),
    ).toEqual({
      epsilon: null,
      order: null,
    });
  });

  it.each([
    [['--sampling-rate', '0'], /--sampling-rate '0' must be in \(0, 1\]/],
    [['--sampling-rate', '1.5'], /--sampling-rate '1.5' must be in \(0, 1\]/],
    [['--steps', '-3'], /--steps '-3' must be a whole number/],
    [['--delta', '1'], /--delta '1' must be in \(0, 1\)/],
    [['--noise-multiplier', 'abc'], /--noise-multiplier 'abc'/],
    [['--orders', '0.5,2'], /--orders/],
  ])('rejects %j with one line', (override, pattern) => {
    const flags: Record<string, string> = {
      '--noise-multiplier': '1',
      '--sampling-rate': '0.01',
      '--steps': '100',
      '--delta': '1e-5',
    };
    for (let i = 0; i < override.length; i += 2) flags[override[i]] = override[i + 1];
    expectOneLineError(
      run('epsilon', ...Object.entries(flags).map(([flag, value]) => `${flag}=${value}`)),
      pattern,
    );
  });

  it('names a missing flag', () => {
    expectOneLineError(
      run('epsilon', '--noise-multiplier', '1', '--sampling-rate', '0.1', '--delta', '1e-5'),
      /--steps is required/,
    );
  });
});

describe('himas privacy plan', () => {
  it('round-trips with epsilon: the planned z spends at most the target, and barely less', () => {
    const plan = json(
      run(
        'plan',
        '--target-epsilon',
        '3',
        '--delta',
        '1e-5',
        '--sampling-rate',
        '0.01',
        '--steps',
        '1000',
        '--json',
      ),
    );
    expect(Object.keys(plan).sort()).toEqual(['epsilon', 'noiseMultiplier']);
    const z = plan.noiseMultiplier as number;
    const back = json(
      run(
        'epsilon',
        '--noise-multiplier',
        String(z),
        '--sampling-rate',
        '0.01',
        '--steps',
        '1000',
        '--delta',
        '1e-5',
        '--json',
      ),
    );
    expect(back.epsilon).toBeCloseTo(plan.epsilon as number, 10);
    expect(back.epsilon as number).toBeLessThanOrEqual(3);
    expect(back.epsilon as number).toBeGreaterThan(3 * (1 - 1e-4));
  });

  it('inverts the published vector: ε = 10.8602036 at q = 1, T = 2 needs z ≈ 0.7', () => {
    const plan = json(
      run(
        'plan',
        '--target-epsilon',
        '10.8602036',
        '--delta',
        '1e-5',
        '--sampling-rate',
        '1',
        '--steps',
        '2',
        '--json',
      ),
    );
    expect(plan.noiseMultiplier as number).toBeCloseTo(0.7, 5);
  });

  it("explains the seed's settings before training: hospital-level ε ≈ 48.8, not 1.0, and the noise drowns the signal", () => {
    const result = run(
      'plan',
      '--rounds',
      '10',
      '--noise-multiplier',
      '0.5',
      // The seed's model: an MLP with the non-private recipe's update clip norm.
      '--model',
      'mlp',
      '--hidden-units',
      '64,32',
      '--clip-norm',
      '2',
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/hospital-level ε = 48\.8\b/);
    expect(result.stdout).toMatch(/warning: noise drowns the signal/);
    expect(result.stdout).toMatch(
      /h1-academic \(N = \d+\): patient-level ε = (0\.9\d*|1), δ = 0\.00001 with DP-SGD z = /,
    );
  });

  it('gives the plan as JSON and rejects half a mechanism', () => {
    const withoutDpSgd = json(run('plan', '--rounds', '2', '--patient-privacy', 'none', '--json'));
    expect(withoutDpSgd.patientLevel).toBeNull();
    const result = run('plan', '--rounds', '2', '--json'); // patient-level DP-SGD is the default
    const plan = json(result);
    expect((plan.hospitalLevel as { epsilon: unknown }).epsilon).toBeNull(); // default z = 0
    expect((plan.patientLevel as unknown[]).length).toBe(3);
    expectOneLineError(
      run('plan', '--target-epsilon', '1', '--delta', '1e-5', '--steps', '10'),
      /needs --sampling-rate/,
    );
    expectOneLineError(run('frobnicate'), /unknown subcommand 'privacy frobnicate'/);
  });
});

describe('himas privacy ledger', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-cli-'));
    const store = new FilePatientLedgerStore(patientLedgerDir(dir));
    const entry = (runId: string, round: number, hour: number) => ({
      runId,
      round,
      attempt: `a${round}${runId.slice(-1)}`,
      chargedAt: `2025-01-01T0${hour}:00:00.000Z`,
      event: dpSgdPrivacyEvent(0.1, 3, 50),
      noiseMultiplier: 3,
      samplingProbability: 0.1,
      steps: 50,
      exampleClipNorm: 1,
    });
    await store.append('h1-academic', 'a'.repeat(64), entry('run-1', 1, 1));
    await store.append('h1-academic', 'a'.repeat(64), entry('run-1', 2, 2));
    await store.append('h1-academic', 'a'.repeat(64), entry('run-2', 1, 3));
    await store.append('h2-cardiac', 'b'.repeat(64), entry('run-1', 1, 1));
    mkdirSync(path.join(dir, 'run-out'));
    writeFileSync(
      path.join(dir, 'run-out', 'report.json'),
      JSON.stringify({ dataSource: { kind: 'csv', location: dir } }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every entry with ε after it, and the cumulative ε, recomputed by the accountant', () => {
    const out = json(run('ledger', '--data', dir, '--json')) as unknown as PatientLedgersView;
    expect(out.delta).toBe(1e-5);
    expect(out.hospitals.map((h) => [h.hospitalId, h.entries.length])).toEqual([
      ['h1-academic', 3],
      ['h2-cardiac', 1],
    ]);
    const h1 = out.hospitals[0];
    expect(h1.entries.map((e) => [e.runId, e.round])).toEqual([
      ['run-1', 1],
      ['run-1', 2],
      ['run-2', 1],
    ]);
    const after = h1.entries.map((e) => e.epsilonAfter!);
    expect(after[0]).toBeCloseTo(computeEpsilon(dpSgdPrivacyEvent(0.1, 3, 50), 1e-5).epsilon, 9);
    expect(after[1]).toBeGreaterThan(after[0]);
    expect(after[2]).toBeGreaterThan(after[1]);
    expect(h1.epsilon).toBeCloseTo(computeEpsilon(dpSgdPrivacyEvent(0.1, 3, 150), 1e-5).epsilon, 9);
    expect(h1.entries[0].mechanism).toEqual({
      samplingProbability: 0.1,
      noiseMultiplier: 3,
      steps: 50,
      exampleClipNorm: 1,
    });
  });

  it("filters by --hospital, finds a run's cohort with --out, and prints a table", () => {
    const result = run(
      'ledger',
      '--out',
      path.join(dir, 'run-out'),
      '--hospital',
      'h1-academic',
      '--delta',
      '1e-6',
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ε at δ = 0\.000001/);
    expect(result.stdout).toMatch(
      /h1-academic\s+cohort aaaaaaaaaaaa…\s+3 attempt\(s\) in 2 run\(s\)\s+cumulative patient-level ε = \d+\.\d{4}/,
    );
    expect(result.stdout).toMatch(/run-2\s+1\s+a12\s+50 steps q=0\.1000 z=3\.000 C=1\s+\d+\.\d{4}/);
    expect(result.stdout).not.toContain('h2-cardiac');
  });

  it('says so when there is no ledger, and asks which cohort when none is given', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-empty-'));
    try {
      expect(run('ledger', '--data', empty).stdout).toMatch(/No patient-level ledger in .*privacy-ledger/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expectOneLineError(run('ledger'), /which cohort\? give --data DIR .* or --out RUN_DIR/);
  });
});
