/**
 * The emulator launcher's failure paths, with stand-in processes instead of gcloud (so these run
 * everywhere, in a second): what it says when tools are missing, and that a process that never
 * becomes ready is killed with its whole group and reported with its last output.
 */
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkGcloudAvailability, findFreePort, startEmulatorProcess } from '../../src/local/emulators';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('emulator control', () => {
  test('gcloudAvailability names what is missing and how to install it', () => {
    const report = checkGcloudAvailability({ PATH: '/nonexistent' });
    expect(report.available).toBe(false);
    expect(report.problems.join('\n')).toMatch(/gcloud not found on PATH/);
    expect(report.problems.join('\n')).toMatch(/java not found on PATH/);
  });

  test('a missing emulator component is reported with its install command', async () => {
    const sdk = await mkdtemp(path.join(tmpdir(), 'himas-fake-sdk-'));
    try {
      await writeFile(path.join(sdk, 'gcloud'), '#!/bin/sh\n');
      await writeFile(path.join(sdk, 'java'), '#!/bin/sh\n');
      await chmod(path.join(sdk, 'gcloud'), 0o755);
      await chmod(path.join(sdk, 'java'), 0o755);
      const report = checkGcloudAvailability({ PATH: sdk });
      expect(report.available).toBe(false);
      expect(report.problems.join('\n')).toMatch(/gcloud components install pubsub-emulator/);
    } finally {
      await rm(sdk, { recursive: true, force: true });
    }
  });

  test('a process that never becomes ready is killed, group and all, and the error shows its output', async () => {
    const port = await findFreePort();
    const started = Date.now();
    // The wrapper spawns a child, as gcloud spawns Java; both must die.
    const script = [
      "const { spawn } = require('node:child_process');",
      "const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
      "console.log('grandchild ' + child.pid);",
      "console.error('still booting');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    let message = '';
    try {
      await startEmulatorProcess({
        label: 'Fake emulator',
        command: process.execPath,
        args: ['-e', script],
        readyUrl: `http://127.0.0.1:${port}/`,
        // Printed lines that are not the listening line do not count.
        readyLogPattern: /Server started, listening on \d+/,
        timeoutMs: 1500,
      });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/Fake emulator did not start \(not ready after 2 s\)/);
    expect(message).toMatch(/still booting/);
    const grandchild = Number(/grandchild (\d+)/.exec(message)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    while (isAlive(grandchild) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isAlive(grandchild)).toBe(false);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test('an emulator whose HTTP probe is refused is ready once it prints its listening line (piped or logged)', async () => {
    // As the Pub/Sub emulator on a loaded machine: up for gRPC, every HTTP/1 probe refused.
    const port = await findFreePort();
    const script = [
      "console.log('booting');",
      "setTimeout(() => console.log('INFO: Server started, listening on ' + process.argv[1]), 300);",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const logDir = await mkdtemp(path.join(tmpdir(), 'himas-emulator-log-'));
    try {
      for (const logFile of [undefined, path.join(logDir, 'emulator.log')]) {
        const emulator = await startEmulatorProcess({
          label: 'Fake emulator',
          command: process.execPath,
          args: ['-e', script, String(port)],
          readyUrl: `http://127.0.0.1:${port}/`,
          readyLogPattern: /Server started, listening on \d+/,
          timeoutMs: 10_000,
          logFile,
        });
        expect(emulator.logTail()).toMatch(/listening on \d+/);
        await emulator.stop();
      }
    } finally {
      await rm(logDir, { recursive: true, force: true });
    }
  });

  test('a process that exits early is reported at once with its exit status', async () => {
    const port = await findFreePort();
    await expect(
      startEmulatorProcess({
        label: 'Fake emulator',
        command: process.execPath,
        args: ['-e', "console.error('port already in use'); process.exit(3)"],
        readyUrl: `http://127.0.0.1:${port}/`,
        timeoutMs: 30_000,
      }),
    ).rejects.toThrow(/exited with code 3[\s\S]*port already in use/);
  });
});
