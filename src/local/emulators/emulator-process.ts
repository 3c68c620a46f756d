import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface EmulatorProcessOptions {
  /** For messages: "Pub/Sub emulator". */
  label: string;
  command: string;
  args: string[];
  /** Polled until it answers HTTP 200. */
  readyUrl: string;
  /**
   * Also ready once the process prints this (its own "listening" line). The Pub/Sub emulator
   * routes each connection to HTTP/1 or HTTP/2 from its first bytes; on a loaded machine it has
   * been seen answering every HTTP/1 probe with "Unexpected HTTP/1.x request" for a whole minute
   * while its gRPC clients (all that HIMAS uses) would have been served.
   */
  readyLogPattern?: RegExp;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Append the process's output to this file instead of piping it here: for an emulator that must
   * outlive the process that started it (`himas stack up`), whose pipes close when it exits.
   */
  logFile?: string;
}

export interface EmulatorProcess {
  pid: number;
  /** The last lines the process printed (stdout and stderr), for error messages. */
  logTail(): string;
  /** Kills the whole process group (gcloud's Python wrapper and its Java child); idempotent. */
  stop(): Promise<void>;
}

const LOG_TAIL_LINES = 40;

/**
 * Starts a long-running emulator in its own process group and waits until its HTTP endpoint
 * answers. `gcloud ... start` is a Python wrapper that spawns Java (and the Firestore one a shell
 * script in between); killing only the wrapper leaves Java holding the port, so stop() signals
 * the group. On timeout the group is killed and the error carries the log tail.
 */
export async function startEmulatorProcess(options: EmulatorProcessOptions): Promise<EmulatorProcess> {
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    detached: true, // its own process group: -pid reaches every descendant
    stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
    env: options.env ?? process.env,
  });
  if (logFd !== undefined) closeSync(logFd);
  const lines: string[] = [];
  let printedReady = false;
  const remember = (chunk: Buffer) => {
    if (options.readyLogPattern?.test(chunk.toString('utf8'))) printedReady = true;
    lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    if (lines.length > LOG_TAIL_LINES) lines.splice(0, lines.length - LOG_TAIL_LINES);
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`));
    child.once('error', (error) => resolve(`could not start: ${error.message}`));
  });
  // Do not keep the test runner or CLI alive just because an emulator runs.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void })?.unref?.();
  const logTail = () => (options.logFile === undefined ? lines.join('\n') : fileTail(options.logFile));
  const handle: EmulatorProcess = { pid: child.pid ?? -1, logTail, stop: () => stopGroup(child, exited) };

  const deadline = Date.now() + options.timeoutMs;
  let exitReason: string | undefined;
  void exited.then((reason) => (exitReason = reason));
  const logSaysReady = () =>
    options.readyLogPattern !== undefined &&
    (printedReady ||
      (options.logFile !== undefined && options.readyLogPattern.test(fileText(options.logFile))));
  while (!logSaysReady() && !(await answers(options.readyUrl))) {
    if (exitReason !== undefined || Date.now() > deadline) {
      const why = exitReason ?? `not ready after ${Math.round(options.timeoutMs / 1000)} s`;
      await handle.stop();
      throw new Error(
        `${options.label} did not start (${why}): ${options.command} ${options.args.join(' ')}\n` +
          `--- last output ---\n${logTail() || '(none)'}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return handle;
}

function fileText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function fileTail(file: string): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-LOG_TAIL_LINES)
      .join('\n');
  } catch {
    return '';
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function stopGroup(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    // The wrapper is gone, but Java in its group may not be.
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    return;
  }
  signalGroup(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const gone = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000))),
  ]);
  clearTimeout(timer);
  // Java may outlive the wrapper's exit; SIGKILL whatever is left of the group.
  signalGroup(child.pid, 'SIGKILL');
  if (!gone) await exited;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}
