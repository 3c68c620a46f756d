import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { aggregationPeersSection } from '../../../bench/report/aggregation-peers-section';
import type { BenchResults } from '../../../bench/results';
import { fastestPass } from '../../../bench/suites/aggregation-peers';
import { summarize } from '../../../bench/statistics';

const REPO = path.resolve(__dirname, '..', '..', '..');
const himas = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [path.join(REPO, 'bin', 'himas.js'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 90_000,
    env,
  });
const args = ['bench', 'aggregate', '--hospitals', '3', '--params', '2000', '--repeats', '3', '--peers'];
const hasNumpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;

describe('himas bench aggregate --peers', () => {
  it('adds the side-by-side ratios to --json when python3 and numpy are present', () => {
    if (!hasNumpy) {
      // Said, not skipped: the other test covers the absent case on every machine.
      expect(spawnSync('python3', ['-c', 'import numpy']).status).not.toBe(0);
      return;
    }
    const result = himas([...args, '--json']);
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout.trim()) as Record<string, number>;
    expect(Object.keys(out).sort()).toEqual([
      'floorPass',
      'floorRatio',
      'fractionOfNumpyFloor',
      'loadAverageEnd',
      'loadAverageStart',
      'medianSeconds',
      'numpySpeedup',
      'paramsPerSecond',
    ]);
    expect(out.loadAverageStart).toBeGreaterThanOrEqual(0);
    expect(out.numpySpeedup).toBeGreaterThan(0);
    expect(himas(args).stdout).toMatch(
      /medians, interleaved: HIMAS [\d.]+ ms, numpy DP-FedAvg [\d.]+ ms, numpy's fastest read pass [\d.]+ ms \((float32 a\.max\(\)|a\.view\(int32\)\.max\(\)|float32 a\.sum\(\)), (huge|4k) pages, [\d.]+ GB\/s\)\n {2}load average [\d.]+ → [\d.]+ on \d+ cores/,
    );
    expect(out.fractionOfNumpyFloor).toBeGreaterThan(0);
    expect(out.floorPass).toMatch(/^(max|max-int32|sum), (huge|4k) pages$/);
  });

  it('says that numpy is absent, installs nothing, and still times HIMAS', () => {
    const noPython = { ...process.env, HIMAS_BENCH_PYTHON: '/nonexistent/python3' };
    const json = himas([...args, '--json'], noPython);
    expect(json.status).toBe(0);
    const out = JSON.parse(json.stdout.trim()) as Record<string, unknown>;
    expect(out.numpySpeedup).toBeNull();
    expect(out.numpyAbsent).toMatch(/\/nonexistent\/python3 is not installed \(ENOENT\)/);
    expect(out.medianSeconds).toBeGreaterThan(0);
    expect(himas(args, noPython).stdout).toMatch(
      /numpy peers not measured: \/nonexistent\/python3 is not installed/,
    );
  });

  it('refuses --peers with the secure path, in one line', () => {
    const result = himas([...args, '--secure-aggregation']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(
      'himas: error: --peers compares plain DP-FedAvg only; drop --secure-aggregation / --signatures',
    );
  });
});

describe('docs/benchmarks.md aggregation-kernel section', () => {
  const s = (median: number) => summarize([median * 0.9, median, median * 1.1]);
  const figure = {
    hospitals: 30,
    params: 1e6,
    himasSeconds: s(0.04),
    himasPlainSeconds: s(0.06),
    floorPasses: [
      { pass: 'max-int32', pages: 'huge', seconds: s(0.01) },
      { pass: 'sum', pages: 'huge', seconds: s(0.02) },
      { pass: 'max-int32', pages: '4k', seconds: s(0.03) },
    ],
    floorPass: { pass: 'max-int32', pages: 'huge' },
    floorSeconds: s(0.01),
    floor4kSeconds: s(0.03),
    numpySeconds: s(0.1),
    speedupOverNumpy: 2.5,
    speedupOverNumpyPairs: s(2.5),
    fractionOfFloor: 0.25,
    fractionOfFloorPairs: s(0.25),
    fractionOfFloor4k: 0.75,
  };
  it('leads with the K = 30, P = 10^6 ratios against their targets', () => {
    const lines = aggregationPeersSection({
      aggregationPeers: {
        numpyAbsent: null,
        numpyVersion: '2.4.6',
        hugepages: true,
        figures: [figure],
        skipped: [],
      },
    } as unknown as BenchResults);
    expect(lines).toContain(
      '**K = 30, P = 10^6: 2.50× numpy (target ≥ 2×), 25.0 % of the floor (target ≥ 30 %).**',
    );
    expect(lines.join('\n')).toMatch(/\| 30 \| 10\^6 \| 40\.0 \| 750 \| 100\.0 \| 2\.50×/);
    expect(lines).toContain(
      'The floor there: a.view(int32).max(), huge pages, 10.0 ms (12.0 GB/s). Every read pass (median ms, GB/s): ' +
        'a.view(int32).max() huge 10.0 (12.0); float32 a.sum() huge 20.0 (6.0); a.view(int32).max() 4 KiB 30.0 (4.0).',
    );
    expect(lines.join('\n')).toMatch(
      /\| 10\.0 \(12\.0\) \| a\.view\(int32\)\.max\(\), huge pages \| 25\.0 %/,
    );
  });

  it('takes the floor from the fastest read pass, whichever it is', () => {
    const pass = (name: 'max' | 'max-int32' | 'sum', pages: 'huge' | '4k', median: number) => ({
      pass: name,
      pages,
      seconds: s(median),
    });
    expect(
      fastestPass([pass('sum', 'huge', 0.017), pass('max', 'huge', 0.009), pass('max-int32', '4k', 0.012)]),
    ).toEqual(pass('max', 'huge', 0.009));
    expect(fastestPass([pass('sum', '4k', 0.02), pass('max', '4k', 0.03)]).pass).toBe('sum');
    expect(() => fastestPass([])).toThrow('no read pass was timed');
  });

  it('gives each case its load average and renders the profile of one aggregation', () => {
    const lines = aggregationPeersSection({
      aggregationPeers: {
        numpyAbsent: null,
        numpyVersion: '2.4.6',
        hugepages: true,
        figures: [{ ...figure, loadAverage: [1.25, 2.5] }],
        skipped: [],
        profile: {
          hospitals: 30,
          params: 1e6,
          loadAverage: [0.5, 0.75],
          steps: [
            { step: 'whole aggregation (dpFedAvg)', seconds: s(0.08) },
            { step: 'norms, 2 threads', seconds: s(0.02) },
          ],
        },
      },
    } as unknown as BenchResults);
    const text = lines.join('\n');
    expect(text).toMatch(/\| 1\.3→2\.5 \|/);
    expect(text).toMatch(/Where the time goes at K = 30, P = 10\^6/);
    expect(text).toMatch(/Load average 0\.5 → 0\.8\./);
    expect(text).toMatch(/\| norms, 2 threads \| 20\.0 \(19\.0–21\.0\) \| 0\.25 \|/);
  });

  it('says clearly when numpy was absent', () => {
    const lines = aggregationPeersSection({
      aggregationPeers: {
        numpyAbsent: 'python3 is not installed (ENOENT)',
        numpyVersion: null,
        hugepages: null,
        figures: [{ hospitals: 3, params: 1e4, himasSeconds: s(1e-3), himasPlainSeconds: s(1e-3) }],
        skipped: [],
      },
    } as unknown as BenchResults);
    expect(lines.join('\n')).toMatch(/\*\*numpy columns empty: python3 is not installed \(ENOENT\)\.\*\*/);
  });
});
