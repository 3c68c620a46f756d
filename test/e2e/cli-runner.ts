import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const HIMAS = path.join(REPO_ROOT, 'bin', 'himas.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs `himas ARGS` as a user would, in `cwd`, and waits for it. */
export function himas(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): CliResult {
  const started = Date.now();
  const result = spawnSync(process.execPath, [HIMAS, ...args], {
    cwd: options.cwd,
    env: { ...process.env, HIMAS_HOME: path.join(options.cwd, '.himas'), ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 240_000,
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Starts `himas ARGS` in its own process group (so a test can kill it and its jobs at once). */
export function startHimas(args: string[], options: { cwd: string }): ChildProcess {
  return spawn(process.execPath, [HIMAS, ...args], {
    cwd: options.cwd,
    env: { ...process.env, HIMAS_HOME: path.join(options.cwd, '.himas') },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A one-line error: `himas: error: ...`, nothing that looks like a stack trace. */
export function expectOneLineError(result: CliResult, pattern: RegExp): void {
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}
