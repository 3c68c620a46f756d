import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const himas = (args: string[]) =>
  spawnSync(process.execPath, [path.join(REPO, 'bin', 'himas.js'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('himas bench aggregate', () => {
  it('--json prints exactly {medianSeconds, paramsPerSecond, floorRatio}', () => {
    const result = himas([
      'bench',
      'aggregate',
      '--hospitals',
      '3',
      '--params',
      '1000',
      '--repeats',
      '3',
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as Record<string, number>;
    expect(Object.keys(out).sort()).toEqual(['floorRatio', 'medianSeconds', 'paramsPerSecond']);
    expect(out.medianSeconds).toBeGreaterThan(0);
    expect(out.paramsPerSecond).toBeCloseTo(3000 / out.medianSeconds, 0);
    expect(out.floorRatio).toBeGreaterThan(0);
  });

  it('keeps the JSON shape with --secure-aggregation --signatures, and says what it timed otherwise', () => {
    const args = ['bench', 'aggregate', '--hospitals', '3', '--params', '1000', '--repeats', '3'];
    const json = himas([...args, '--secure-aggregation', '--signatures', '--json']);
    expect(json.status).toBe(0);
    const out = JSON.parse(json.stdout.trim()) as Record<string, number>;
    expect(Object.keys(out).sort()).toEqual(['floorRatio', 'medianSeconds', 'paramsPerSecond']);
    expect(out.paramsPerSecond).toBeCloseTo(3000 / out.medianSeconds, 0);
    const text = himas([...args, '--secure-aggregation']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^secure DP-FedAvg \(unmask, decode, noise, step\), K = 3 updates/);
    expect(himas([...args, '--signatures']).stdout).toMatch(/^DP-FedAvg with signature checks, K = 3/);
  });

  it('rejects a bad flag with one line on stderr', () => {
    const result = himas(['bench', 'aggregate', '--hospitals', 'many', '--params', '1000']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      "himas: error: --hospitals 'many' must be a whole number from 1 to 10000",
    ]);
  });
});
