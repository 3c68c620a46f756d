import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import * as path from 'node:path';
import { z } from 'zod';
import { deadLetterHoldSubscription, deadLetterTopic, TOPICS } from '../../../schemas/events';
import { stackEnvVars, type StackConfig } from '../../config/stack-config';
import { AGENT_SUBSCRIPTIONS, AGGREGATOR_SUBSCRIPTIONS } from '../embedded-platform';
import {
  findFreePort,
  gcloudAvailability,
  startFirestoreEmulator,
  startPubSubEmulator,
  type RunningEmulator,
} from '../emulators';

/**
 * The emulator stack as long-lived processes, so `himas train --stack emulators` and
 * `himas status --stack emulators` can share it: the Pub/Sub and Firestore emulators, and each
 * function served by functions-framework behind a Pub/Sub push subscription to its loopback
 * endpoint (as Eventarc delivers in the cloud). Pids and ports live in `<home>/stack.json`.
 */
export const STACK_PROJECT = 'himas-local';

const ProcessSchema = z.object({
  name: z.string(),
  pid: z.number().int(),
  /** `host:port` it serves. */
  host: z.string(),
  log: z.string(),
});

const StackStateSchema = z.object({
  projectId: z.string(),
  startedAt: z.string(),
  pubsubEmulatorHost: z.string(),
  firestoreEmulatorHost: z.string(),
  blobDir: z.string(),
  keysDir: z.string(),
  coordinatorUrl: z.string(),
  aggregateUrl: z.string(),
  processes: z.array(ProcessSchema),
});
export type StackState = z.infer<typeof StackStateSchema>;

/**
 * A function served locally: `name` names its process and log, `folder` is its entry file
 * (functions/<folder>/index.ts), `target` the entry point it registers, and how functions-framework
 * calls it. Each is its own process, as each is its own Cloud Function in the cloud.
 */
interface ServedFunction {
  name: string;
  folder: string;
  target: string;
  signatureType: 'cloudevent' | 'http';
}

type AgentEntryPoint = (typeof AGENT_SUBSCRIPTIONS)[number]['entryPoint'];
/** The clinical agent answers POST /predict too, so it is an HTTP function that also takes pushes. */
const AGENT_SIGNATURES: Record<AgentEntryPoint, ServedFunction['signatureType']> = {
  privacyGuardian: 'cloudevent',
  orchestrator: 'cloudevent',
  clinicalDecisionSupport: 'http',
  diseaseSurveillance: 'cloudevent',
  treatmentOptimization: 'cloudevent',
};
const kebab = (camel: string) => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const FUNCTIONS: readonly ServedFunction[] = [
  { name: 'aggregate', folder: 'aggregate', target: 'aggregate', signatureType: 'cloudevent' },
  { name: 'coordinator', folder: 'coordinator', target: 'coordinator', signatureType: 'http' },
  // functions/agents/<kebab-case entry point>, the folders Terraform deploys them from.
  ...AGENT_SUBSCRIPTIONS.map((s) => ({
    name: kebab(s.entryPoint),
    folder: `agents/${kebab(s.entryPoint)}`,
    target: s.entryPoint,
    signatureType: AGENT_SIGNATURES[s.entryPoint],
  })),
];

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const FUNCTION_SOURCE = path.join(__dirname, 'function-source.js');
// The package exports only its index; its CLI (`functions-framework`) is main.js beside it.
const functionsFrameworkCli = () =>
  path.join(path.dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
const FUNCTION_START_TIMEOUT_MS = 90_000;

export const stackStatePath = (home: string) => path.join(home, 'stack.json');
export const stackFolder = (home: string) => path.join(home, 'stack');

export function readStackState(home: string): StackState | undefined {
  const file = stackStatePath(home);
  if (!existsSync(file)) return undefined;
  return StackStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** The stack's configuration as its processes read it from the environment. */
export function stackConfigOf(
  state: StackState,
  dataDir?: string,
): Extract<StackConfig, { stack: 'emulators' }> {
  return {
    stack: 'emulators',
    projectId: state.projectId,
    pubsubEmulatorHost: state.pubsubEmulatorHost,
    firestoreEmulatorHost: state.firestoreEmulatorHost,
    blobDir: state.blobDir,
    dataDir,
  };
}

export interface ProcessStatus {
  name: string;
  pid: number;
  host: string;
  log: string;
  alive: boolean;
  answering: boolean;
}

export async function probeStack(state: StackState): Promise<ProcessStatus[]> {
  return Promise.all(
    state.processes.map(async (p) => ({
      ...p,
      alive: isAlive(p.pid),
      answering: await acceptsConnections(p.host),
    })),
  );
}

/** The running stack of `home`, or a new one when none runs (a dead one is cleaned up first). */
export async function ensureStack(home: string, say: (line: string) => void): Promise<StackState> {
  const state = readStackState(home);
  if (state) {
    const statuses = await probeStack(state);
    if (statuses.every((s) => s.alive && s.answering)) {
      say(`Reusing the emulator stack of ${stackStatePath(home)} (started ${state.startedAt})`);
      return state;
    }
    say('The recorded emulator stack is not (fully) running; restarting it');
    await stopStack(home);
  }
  return startStack(home, say);
}

export async function startStack(home: string, say: (line: string) => void): Promise<StackState> {
  if (readStackState(home)) {
    throw new Error(`a stack is already recorded in ${stackStatePath(home)}; \`himas stack down\` first`);
  }
  const availability = await gcloudAvailability();
  if (!availability.available) {
    throw new Error(
      `the emulator stack needs gcloud, Java and the emulator components:\n  - ${availability.problems.join('\n  - ')}`,
    );
  }
  // The emulators keep everything in memory, so the folders beside them start empty too.
  const folder = stackFolder(home);
  await rm(folder, { recursive: true, force: true });
  const logs = path.join(folder, 'logs');
  await mkdir(logs, { recursive: true });
  const blobDir = path.join(folder, 'blobs');
  const keysDir = path.join(folder, 'keys');
  await mkdir(blobDir, { recursive: true });

  const started: Array<{ name: string; pid: number; host: string; log: string }> = [];
  const emulators: RunningEmulator[] = [];
  try {
    say('Starting the Pub/Sub and Firestore emulators…');
    const settled = await Promise.allSettled([
      startPubSubEmulator({ projectId: STACK_PROJECT, logFile: path.join(logs, 'pubsub-emulator.log') }),
      startFirestoreEmulator({
        projectId: STACK_PROJECT,
        logFile: path.join(logs, 'firestore-emulator.log'),
      }),
    ]);
    for (const result of settled) if (result.status === 'fulfilled') emulators.push(result.value);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [pubsub, firestore] = emulators;
    started.push(
      {
        name: 'pubsub-emulator',
        pid: pubsub.pid,
        host: pubsub.host,
        log: path.join(logs, 'pubsub-emulator.log'),
      },
      {
        name: 'firestore-emulator',
        pid: firestore.pid,
        host: firestore.host,
        log: path.join(logs, 'firestore-emulator.log'),
      },
    );
    const config = stackConfigOf({
      projectId: STACK_PROJECT,
      startedAt: '',
      pubsubEmulatorHost: pubsub.host,
      firestoreEmulatorHost: firestore.host,
      blobDir,
      keysDir,
      coordinatorUrl: '',
      aggregateUrl: '',
      processes: [],
    });

    say('Serving the functions with functions-framework…');
    // In parallel: seven functions-framework processes start in ~5 s together (~150 MB each idle).
    const served = await Promise.allSettled(
      FUNCTIONS.map(async (fn) => {
        const port = await findFreePort();
        const log = path.join(logs, `${fn.name}.log`);
        const pid = await startFunction(fn, port, log, stackEnvVars(config));
        return { name: fn.name, pid, host: `127.0.0.1:${port}`, log, url: `http://127.0.0.1:${port}` };
      }),
    ).then((results) => {
      // Recorded in FUNCTIONS order; the ones that did start are stopped by the catch below.
      for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return results.map((r) => (r as PromiseFulfilledResult<{ name: string; url: string }>).value);
    });
    const url = (name: string) => served.find((s) => s.name === name)!.url;

    say('Creating topics and push subscriptions…');
    await createPubSubResources(config, url);

    const state: StackState = {
      projectId: STACK_PROJECT,
      startedAt: new Date().toISOString(),
      pubsubEmulatorHost: pubsub.host,
      firestoreEmulatorHost: firestore.host,
      blobDir,
      keysDir,
      coordinatorUrl: url('coordinator'),
      aggregateUrl: url('aggregate'),
      processes: started.map(({ name, pid, host, log }) => ({ name, pid, host, log })),
    };
    await writeFile(stackStatePath(home), `${JSON.stringify(state, null, 2)}\n`);
    return state;
  } catch (error) {
    for (const p of started) await stopGroup(p.pid);
    for (const e of emulators) await e.stop();
    throw error;
  }
}

/** Stops every process of the recorded stack (whole process groups) and forgets it. */
export async function stopStack(home: string): Promise<StackState['processes']> {
  const state = readStackState(home);
  if (!state) return [];
  await Promise.all(state.processes.map((p) => stopGroup(p.pid)));
  await rm(stackStatePath(home), { force: true });
  return state.processes;
}

/**
 * Starts the named function again behind the URL it served (its recorded port), as Cloud Functions
 * starts a new instance after one crashed; a process still serving it is stopped first. The new
 * pid goes into `<home>/stack.json`, its output is appended to the same log.
 */
export async function restartFunction(home: string, name: string): Promise<StackState> {
  const state = readStackState(home);
  if (!state) throw new Error(`no stack recorded in ${stackStatePath(home)}; \`himas stack up\` first`);
  const fn = FUNCTIONS.find((f) => f.name === name);
  const recorded = state.processes.find((p) => p.name === name);
  if (!fn || !recorded) throw new Error(`the stack serves no function named ${JSON.stringify(name)}`);
  await stopGroup(recorded.pid);
  const port = Number(recorded.host.slice(recorded.host.lastIndexOf(':') + 1));
  const env = stackEnvVars(stackConfigOf(state));
  const pid = await startFunction(fn, port, recorded.log, env);
  const restarted: StackState = {
    ...state,
    processes: state.processes.map((p) => (p.name === name ? { ...p, pid } : p)),
  };
  await writeFile(stackStatePath(home), `${JSON.stringify(restarted, null, 2)}\n`);
  return restarted;
}

async function startFunction(
  { name, folder, target, signatureType }: ServedFunction,
  port: number,
  log: string,
  stackEnv: Record<string, string>,
): Promise<number> {
  const fd = openSync(log, 'a');
  const child = spawn(
    process.execPath,
    [
      functionsFrameworkCli(),
      `--target=${target}`,
      `--signature-type=${signatureType}`,
      `--port=${port}`,
      `--source=${FUNCTION_SOURCE}`,
    ],
    {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...stackEnv, HIMAS_FUNCTION: folder, K_SERVICE: `himas-${name}` },
    },
  );
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start functions-framework for ${name}`);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `code ${code}`));
  const deadline = Date.now() + FUNCTION_START_TIMEOUT_MS;
  while (!(await acceptsConnections(`127.0.0.1:${port}`))) {
    if (exited !== undefined || Date.now() > deadline) {
      await stopGroup(pid);
      const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(
        `functions-framework for ${name} did not start (${exited ? `exited with ${exited}` : 'timed out'}); log ${log}:\n${tail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return pid;
}

/**
 * Topics (each with its dead-letter topic) and the functions' subscriptions, named as Terraform
 * names them (AGGREGATOR_SUBSCRIPTIONS, AGENT_SUBSCRIPTIONS), each pushed to its function's
 * loopback endpoint. The path names the topic because functions-framework reads it from there when
 * it turns a raw push body into a CloudEvent (the clinical HTTP function takes the raw body).
 */
async function createPubSubResources(
  config: Extract<StackConfig, { stack: 'emulators' }>,
  urlOf: (functionName: string) => string,
) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const pubsub = new PubSub({
    projectId: config.projectId,
    apiEndpoint: config.pubsubEmulatorHost,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
  const pushes = [
    ...AGGREGATOR_SUBSCRIPTIONS.map((s) => ({ ...s, url: urlOf('aggregate') })),
    ...AGENT_SUBSCRIPTIONS.map((s) => ({
      ...s,
      url: urlOf(FUNCTIONS.find((f) => f.target === s.entryPoint)!.name),
    })),
  ];
  try {
    for (const topic of Object.values(TOPICS)) {
      await pubsub.createTopic(topic);
      await pubsub.createTopic(deadLetterTopic(topic));
      // Terraform's dead_letter_hold: Pub/Sub keeps a dead letter only for a subscription of its
      // topic, and `himas deadletter` pulls them from this one.
      await pubsub.topic(deadLetterTopic(topic)).createSubscription(deadLetterHoldSubscription(topic), {
        ackDeadlineSeconds: 60,
      });
    }
    for (const subscription of pushes) {
      await pubsub.topic(subscription.topic).createSubscription(subscription.name, {
        pushConfig: {
          pushEndpoint: `${subscription.url}/projects/${config.projectId}/topics/${subscription.topic}`,
        },
        // A push is acked by the HTTP answer; aggregation of a round may take a while.
        ackDeadlineSeconds: 120,
        deadLetterPolicy: {
          deadLetterTopic: `projects/${config.projectId}/topics/${deadLetterTopic(subscription.topic)}`,
          maxDeliveryAttempts: 10,
        },
        retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
      });
    }
  } finally {
    await pubsub.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A TCP connect, not an HTTP request: a GET would reach the function and log an error there. */
function acceptsConnections(hostPort: string): Promise<boolean> {
  const cut = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: hostPort.slice(0, cut), port: Number(hostPort.slice(cut + 1)) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** SIGTERM to the group, SIGKILL to whatever is left after 5 s (gcloud's Java child may linger). */
async function stopGroup(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal('SIGTERM')) return;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && groupAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 100));
  signal('SIGKILL');
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
