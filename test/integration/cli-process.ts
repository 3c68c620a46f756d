import type { ChildProcess } from 'node:child_process';
import { startHimas, type CliResult } from '../e2e/cli-runner';

/**
 * `himas ARGS` without blocking this process's event loop (a push relay served from the test
 * process must keep answering while the CLI runs), in its own process group so a test can kill it
 * and its hospital jobs at once.
 */
export function spawnHimas(
  args: string[],
  options: { cwd: string },
): { child: ChildProcess; done: Promise<CliResult> } {
  const started = Date.now();
  const child = startHimas(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code) =>
      resolve({ status: code, stdout, stderr, seconds: (Date.now() - started) / 1000 }),
    ),
  );
  return { child, done };
}
