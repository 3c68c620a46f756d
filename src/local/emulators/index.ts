import { findFreePort } from './free-port';
import { gcloudAvailability } from './gcloud-availability';
import { startEmulatorProcess } from './emulator-process';

export { findFreePort } from './free-port';
export { checkGcloudAvailability, gcloudAvailability, type GcloudAvailability } from './gcloud-availability';
export { startEmulatorProcess, type EmulatorProcess, type EmulatorProcessOptions } from './emulator-process';

export interface EmulatorOptions {
  /** Project the emulator serves (any id works locally; default `himas-local`). */
  projectId?: string;
  /** Loopback port; default a free one. */
  port?: number;
  /** Longest wait for readiness (default 60 s: Java start-up on 2 busy cores can take 20 s). */
  timeoutMs?: number;
  /** The gcloud executable (default `gcloud` on PATH). */
  gcloud?: string;
  /** Write the emulator's output to this file (an emulator that outlives its starter). */
  logFile?: string;
}

export interface RunningEmulator {
  /** `127.0.0.1:PORT`, the value of PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  host: string;
  projectId: string;
  /** The process group leader (gcloud's wrapper); `kill(-pid)` stops the Java child too. */
  pid: number;
  /** Stops the emulator and its Java child; idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_PROJECT = 'himas-local';
const DEFAULT_TIMEOUT_MS = 60_000;

export function startPubSubEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const projectId = options.projectId ?? DEFAULT_PROJECT;
  return startGcloudEmulator(
    'Pub/Sub emulator',
    options,
    projectId,
    /Server started, listening on \d+/,
    (hostPort) => [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=${hostPort}`,
      `--project=${projectId}`,
    ],
  );
}

/** The Firestore emulator serves every project id; `projectId` is what clients should use. */
export function startFirestoreEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const projectId = options.projectId ?? DEFAULT_PROJECT;
  return startGcloudEmulator('Firestore emulator', options, projectId, undefined, (hostPort) => [
    'emulators',
    'firestore',
    'start',
    `--host-port=${hostPort}`,
  ]);
}

async function startGcloudEmulator(
  label: string,
  options: EmulatorOptions,
  projectId: string,
  readyLogPattern: RegExp | undefined,
  argsFor: (hostPort: string) => string[],
): Promise<RunningEmulator> {
  if (options.gcloud === undefined) {
    const availability = await gcloudAvailability();
    if (!availability.available) {
      throw new Error(`cannot start the ${label}:\n  - ${availability.problems.join('\n  - ')}`);
    }
  }
  // Loopback only: the emulators have no authentication.
  const host = `127.0.0.1:${options.port ?? (await findFreePort())}`;
  const emulator = await startEmulatorProcess({
    label,
    command: options.gcloud ?? 'gcloud',
    args: argsFor(host),
    readyUrl: `http://${host}/`,
    readyLogPattern,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    logFile: options.logFile,
    // gcloud must not prompt or phone home from a test run.
    env: {
      ...process.env,
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    },
  });
  return { host, projectId, pid: emulator.pid, stop: () => emulator.stop() };
}
