import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunDocument } from '../../../schemas/documents';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { FileBlobStore } from '../../../src/adapters/embedded/file-blob-store';
import { FileHospitalKeyStore } from '../../../src/adapters/keys/file-hospital-key-store';
import { BlobHospitalLedgerStore } from '../../../src/adapters/ledger/blob-hospital-ledger-store';
import { hospitalStateDir, localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import type { HospitalLedgersView } from '../../../src/cli/privacy-ledger-view';
import { systemClock } from '../../../src/ports/clock';
import { importPrivateKeyPem } from '../../../src/runtime/secure-aggregation-crypto';
import { chargeUse, reserveRunPrivacy } from '../../../src/services/patient-privacy';
import { expectOneLineError, himas, REPO_ROOT, type CliResult } from '../../e2e/cli-runner';

const run = (...args: string[]): CliResult =>
  himas(['privacy', ...args], { cwd: REPO_ROOT, timeoutMs: 60_000 });

const emptyHome = mkdtempSync(path.join(os.tmpdir(), 'himas-privacy-empty-'));
afterAll(() => rmSync(emptyHome, { recursive: true, force: true }));

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
      '--home',
      emptyHome,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/hospital-level ε = 48\.8\b/);
    expect(result.stdout).toMatch(/warning: noise drowns the signal/);
    // Per hospital, every mechanism of the run with its ε, composed per split to the run's total.
    expect(result.stdout).toMatch(/h1-academic \(declared \d+ training stays\):/);
    expect(result.stdout).toMatch(/dp-sgd\s+train\s+\d\.\d{3}\s+DP-SGD z = /);
    expect(result.stdout).toMatch(/evaluation\s+test\s+\d\.\d{3}\s+1 noisy evaluation/);
    expect(result.stdout).toMatch(/guarantee \(worse split\)\s+1\.000\s+δ = 0\.00001/);
    expect(result.stdout).toMatch(/lifetime: ε = 0\.000 spent before, 1\.000 after this run, budget 3/);
  });

  it('gives the plan as JSON with each mechanism, and rejects half a mechanism', () => {
    const plan = json(run('plan', '--rounds', '2', '--json', '--home', emptyHome)); // DP-SGD is the default
    expect((plan.hospitalLevel as { epsilon: unknown }).epsilon).toBeNull(); // default z = 0
    const hospitals = plan.hospitals as Array<{
      hospitalId: string;
      epsilon: number;
      partitions: { train: number; test: number };
      mechanisms: Array<{ mechanism: string; epsilon: number }>;
      refused: boolean;
    }>;
    expect(hospitals).toHaveLength(3);
    for (const h of hospitals) {
      expect(h.epsilon).toBeLessThanOrEqual(1);
      expect(h.epsilon).toBeGreaterThan(0.99);
      expect(h.mechanisms.map((m) => m.mechanism)).toEqual(['dp-sgd', 'evaluation']);
      expect(h.refused).toBe(false);
    }
    const withReleases = json(
      run(
        'plan',
        '--rounds',
        '2',
        '--surveillance-noise-multiplier',
        '20',
        '--treatment-noise-multiplier',
        '20',
        '--json',
        '--home',
        emptyHome,
      ),
    );
    const first = (withReleases.hospitals as typeof hospitals)[0];
    expect(first.mechanisms.map((m) => m.mechanism).sort()).toEqual([
      'dp-sgd',
      'evaluation',
      'surveillance',
      'treatment',
    ]);
    // Still one run total within the target: DP-SGD and the evaluation get more noise to pay for them.
    expect(first.epsilon).toBeLessThanOrEqual(1);
    const withoutDpSgd = json(
      run('plan', '--rounds', '2', '--patient-privacy', 'none', '--json', '--home', emptyHome),
    );
    expect((withoutDpSgd.hospitals as typeof hospitals)[0].epsilon).toBeNull(); // ε = ∞, said as null
    expectOneLineError(
      run('plan', '--target-epsilon', '1', '--delta', '1e-5', '--steps', '10'),
      /needs --sampling-rate/,
    );
    expectOneLineError(
      run('plan', '--rounds', '2', '--surveillance-noise-multiplier', '0.5', '--home', emptyHome),
      /the surveillance and treatment releases alone cost ε = .* more than the run's target 1/,
    );
    expectOneLineError(run('frobnicate'), /unknown subcommand 'privacy frobnicate'/);
  });
});

describe('himas privacy ledger and a plan against it', () => {
  let home: string;
  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-ledger-cli-'));
    // Three runs' reservations in h1's own ledger, as its jobs would write them.
    const config = TrainingConfigSchema.parse({ rounds: 2 });
    const deps = {
      ledger: localHospitalLedger(hospitalStateDir(home)),
      mirror: new BlobHospitalLedgerStore(new FileBlobStore(path.join(home, 'blobs')), 'shared'),
      clock: systemClock,
    };
    const key = new FileHospitalKeyStore(path.join(home, 'keys'));
    for (const hospitalId of ['h1-academic', 'h2-cardiac']) {
      const signing = await key.ensureSigningKey(hospitalId);
      const signer = {
        hospitalId,
        privateKey: importPrivateKeyPem(signing.privateKeyPem),
        publicKey: signing.publicKey,
      };
      for (const runId of hospitalId === 'h1-academic' ? ['run-1', 'run-2', 'run-3'] : ['run-1']) {
        const run = { runId, config, declaredTrainStays: { [hospitalId]: 1500 } } as unknown as RunDocument;
        await reserveRunPrivacy(deps, signer, run);
        await chargeUse(deps, signer, run, ['train:1']);
      }
    }
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('lists every entry with the lifetime ε after it, each run and each mechanism, recomputed by the accountant', () => {
    const out = json(run('ledger', '--home', home, '--json')) as unknown as HospitalLedgersView;
    expect(out.delta).toBe(1e-5);
    expect(out.hospitals.map((h) => [h.hospitalId, h.entries.length])).toEqual([
      ['h1-academic', 6],
      ['h2-cardiac', 2],
    ]);
    const h1 = out.hospitals[0];
    expect(h1.entries.map((e) => [e.kind, e.runId])).toEqual([
      ['reservation', 'run-1'],
      ['use', 'run-1'],
      ['reservation', 'run-2'],
      ['use', 'run-2'],
      ['reservation', 'run-3'],
      ['use', 'run-3'],
    ]);
    const after = h1.entries.map((e) => e.epsilonAfter!);
    expect(after[0]).toBeCloseTo(1, 3);
    expect(after[2]).toBeGreaterThan(after[0]);
    expect(after[4]).toBeGreaterThan(after[2]);
    expect(after[4]).toBeLessThan(3); // RDP composition: three runs at ε = 1 cost less than 3
    expect(h1.runs.map((r) => r.epsilon!.toFixed(3))).toEqual(['1.000', '1.000', '1.000']);
    expect(h1.lifetime.epsilon).toBeCloseTo(after[5], 12);
    expect(h1.byMechanism.map((m) => m.mechanism)).toEqual(['dp-sgd', 'evaluation']);
  });

  it('filters by --hospital and prints a table; says so for an unknown hospital', () => {
    const result = run('ledger', '--home', home, '--hospital', 'h1-academic', '--delta', '1e-6');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ε at δ = 0\.000001/);
    expect(result.stdout).toMatch(
      /h1-academic: lifetime ε = \d\.\d{3} of a budget of 3 .* over 3 run\(s\), 6 entries/,
    );
    expect(result.stdout).toMatch(/\s+4 reservation run-3\s+dp-sgd×2 evaluation×1\s+\d\.\d{3}/);
    expect(result.stdout).not.toContain('h2-cardiac');
    expectOneLineError(
      run('ledger', '--home', home, '--hospital', 'h9'),
      /hospital h9 has no privacy ledger in .*hospital-state/,
    );
    expect(run('ledger', '--home', emptyHome).stdout).toMatch(
      /No privacy ledger in .*: no hospital has reserved a run/,
    );
  });

  it('refuses, before training, a plan that would take a hospital past its lifetime budget (exit 1)', () => {
    const result = run('plan', '--rounds', '2', '--home', home, '--patient-budget-epsilon', '1.9');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /h1-academic .*\n(.*\n)*\s+lifetime: ε = 1\.\d{3} spent before, \d\.\d{3} after this run, budget 1\.9 — REFUSED/,
    );
    expect(result.stdout).toMatch(/h1-academic cannot afford this run: lower --patient-target-epsilon/);
  });
});
