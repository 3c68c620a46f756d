import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { hiddenUnitsForParams } from '../../../bench/suites/orchestration';

const REPO = path.resolve(__dirname, '..', '..', '..');
const himas = (args: string[]) =>
  spawnSync(process.execPath, [path.join(REPO, 'bin', 'himas.js'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('himas bench round', () => {
  it('--json prints {seconds, peakRssBytes, participants} of one round that closed with every hospital', () => {
    const result = himas(['bench', 'round', '--hospitals', '4', '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as Record<string, number>;
    expect(Object.keys(out).sort()).toEqual(['participants', 'peakRssBytes', 'seconds']);
    // participants is read from the closed round document: the round really took in all 4 updates.
    expect(out.participants).toBe(4);
    expect(out.seconds).toBeGreaterThan(0);
    // A process that loaded TensorFlow.js and DuckDB holds far more than 10 MiB.
    expect(out.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
  }, 120_000);

  it('says in words what it timed, with the model size --params asked for', () => {
    const result = himas(['bench', 'round', '--hospitals', '2', '--params', '3000']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^one round, K = 2 hospitals, P = \d+ parameters \(\d+ hidden units\):/);
    expect(result.stdout).toMatch(/the round closed with 2 of 2 updates/);
    const p = Number(/P = (\d+) parameters/.exec(result.stdout)?.[1]);
    // One hidden layer sized to come closest to 3000: within one layer's step (inputs + 2).
    expect(Math.abs(p - 3000)).toBeLessThan(40);
  }, 120_000);

  it.each([
    [['--hospitals', 'many'], "himas: error: --hospitals 'many' must be a whole number from 1 to 10000"],
    [['--hospitals', '0'], "himas: error: --hospitals '0' must be a whole number from 1 to 10000"],
    [[], 'himas: error: --hospitals K is required: how many hospitals take part in the round'],
    [
      ['--hospitals', '3', '--params', '5'],
      /^himas: error: --params '5' must be a whole number from \d+ to \d+$/,
    ],
    [['--hospitals', '3', '--round'], /^himas: error: unknown flag --round for `himas bench round`/],
  ])('rejects %j with one line on stderr and exit 2', (flags, message) => {
    const result = himas(['bench', 'round', ...flags]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    if (typeof message === 'string') expect(lines[0]).toBe(message);
    else expect(lines[0]).toMatch(message);
  });

  it('--help says what is timed and exits 0', () => {
    const result = himas(['bench', 'round', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: himas bench round --hospitals K/);
    expect(result.stdout).toMatch(/workflows\/federated-training\.yaml/);
  });

  it('sizes one hidden layer so the MLP comes closest to P parameters', () => {
    // 24 inputs: h·(24 + 2) + 1 parameters.
    expect(hiddenUnitsForParams(26 * 10 + 1, 24)).toBe(10);
    expect(hiddenUnitsForParams(26 * 10 + 14, 24)).toBe(11);
    expect(hiddenUnitsForParams(2, 24)).toBe(1);
  });
});
