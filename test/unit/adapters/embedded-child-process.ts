import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** Starts fixtures/embedded-store-child.ts and resolves once it printed `ready`. */
export function startStoreChild(mode: 'hold' | 'write', homeDir: string): Promise<ChildProcess> {
  const script = path.join(__dirname, 'fixtures', 'embedded-store-child.ts');
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', script, mode, homeDir], {
    cwd: path.resolve(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    child.stdout!.on('data', (chunk) => {
      if (String(chunk).includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`store child exited early (${code}): ${stderr}`)));
    child.on('error', reject);
  });
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
