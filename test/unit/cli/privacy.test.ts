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
    const result = run('plan', '--rounds', '10', '--noise-multiplier', '0.5', '--patient-privacy', 'dp-sgd');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/hospital-level ε = 48\.8\b/);
    expect(result.stdout).toMatch(/warning: noise drowns the signal/);
    expect(result.stdout).toMatch(
      /h1-academic \(N = \d+\): patient-level ε = (0\.9\d*|1), δ = 0\.00001 with DP-SGD z = /,
    );
  });

  it('gives the plan as JSON and rejects half a mechanism', () => {
    const withoutDpSgd = json(run('plan', '--rounds', '2', '--json'));
    expect(withoutDpSgd.patientLevel).toBeNull(); // patientPrivacy defaults to none
    const result = run('plan', '--rounds', '2', '--patient-privacy', 'dp-sgd', '--json');
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
