import * as path from 'node:path';
import { paths, blobPaths } from '../../schemas/documents';
import { deadLetterTopic, TOPICS } from '../../schemas/events';
import { WAREHOUSE_TABLES } from '../../schemas/warehouse';
import { functionFolders } from '../../scripts/stage-function-source';
import { JobEnvSchema } from '../../src/config/job-env';
import { CLOUD_SERVICE_ENV_VARS, STACK_ENV_VARS, stackEnvVars } from '../../src/config/stack-config';
import { memoryLogger } from '../../src/logging/logger';
import { logs } from '../../src/logs';
import { AGENT_SUBSCRIPTIONS, AGGREGATOR_SUBSCRIPTIONS } from '../../src/local/embedded-platform';
import { JOB_PREFIX } from '../../src/local/workflow-training';
import { REPO_ROOT } from './terraform-model';

/**
 * What the code uses, collected from its exported constants and by calling it (never by grepping
 * source text): topics, subscriptions, function entry points, the job name, environment variables,
 * Firestore collections, warehouse tables, blob paths and log events.
 */
export interface UsedNames {
  topics: Record<string, string>;
  deadLetterTopics: string[];
  /** Push subscriptions, each feeding one function entry point; `source` is the constant naming it. */
  subscriptions: {
    name: string;
    topic: string;
    entryPoint: string;
    source: 'AGGREGATOR_SUBSCRIPTIONS' | 'AGENT_SUBSCRIPTIONS';
  }[];
  functions: { entryPoint: string; kind: 'cloudEvent' | 'http'; dir: string }[];
  jobPrefix: string;
  /** Per-execution variables of src/config/job-env.ts (CLOUD_RUN_* are set by Cloud Run itself). */
  jobEnv: { name: string; required: boolean }[];
  /** STACK_ENV_VARS of src/config/stack-config.ts: every name below comes from it, or is a job's own. */
  stackEnvVars: readonly string[];
  /** Optional services of the gcp stack (CLOUD_SERVICE_ENV_VARS): functions may get them, unset is fine. */
  cloudServiceEnv: readonly string[];
  /** What a gcp-stack process gets (observed through stackEnvVars): every function and job. */
  stackEnv: string[];
  /** What a gcp-stack job needs besides stackEnv (cohort folder, key folder). */
  jobOnlyEnv: string[];
  /** Read by the job if present (TensorFlow.js backend choice); Terraform may set it or not. */
  optionalJobEnv: string[];
  /** Only the emulator stack sets these; with HIMAS_STACK=gcp, Terraform must never set them. */
  emulatorOnlyEnv: string[];
  collections: string[];
  warehouseTables: string[];
  blob: { update: string; releases: string; models: string; ledgerMirror: string; hospital: string };
  logEvents: string[];
}

/**
 * Read by jobs/train/index.ts directly rather than through a config module, so no constant names
 * them: the signing key folder (required on gcp: the job's own folder is a read-only mount) and the
 * backend preference (optional).
 */
const JOB_KEYS_DIR = 'HIMAS_KEYS_DIR';
/** jobs/train/index.ts: the hospital's own bucket for its patient-level ledger (the cohort volume is read-only). */
const JOB_LEDGER_BUCKET = 'HIMAS_LEDGER_BUCKET';
const JOB_BACKEND = 'HIMAS_TF_BACKEND';
/** Written inline by jobs/train/index.ts rather than through src/logs.ts (job.failed is observed below). */
const INLINE_JOB_EVENTS = ['job.finished'];

/** Entry points registered by functions/<dir>/index.ts, observed through a stand-in functions-framework. */
function registeredFunctions(): UsedNames['functions'] {
  const found: UsedNames['functions'] = [];
  // Re-loading TensorFlow.js in an isolated registry only repeats its registration warnings.
  const quiet = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  for (const dir of functionFolders(REPO_ROOT)) {
    jest.isolateModules(() => {
      jest.doMock('@google-cloud/functions-framework', () => ({
        cloudEvent: (name: string) =>
          found.push({ entryPoint: name, kind: 'cloudEvent', dir: `functions/${dir}` }),
        http: (name: string) => found.push({ entryPoint: name, kind: 'http', dir: `functions/${dir}` }),
      }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules needs a synchronous load
      require(path.join(REPO_ROOT, 'functions', dir, 'index.ts'));
      jest.dontMock('@google-cloud/functions-framework');
    });
  }
  quiet.mockRestore();
  return found;
}

/**
 * The job name prefix: the workflow names jobs `${HIMAS_JOB_PREFIX}<hospital>`, and every local run
 * sets HIMAS_JOB_PREFIX to JOB_PREFIX (src/local/workflow-training.ts), as Terraform must.
 */
async function observedJobPrefix(): Promise<string> {
  return JOB_PREFIX;
}

/** Every `event` src/logs.ts writes, by calling each named log line with placeholder values. */
function loggedEvents(): string[] {
  const logger = memoryLogger();
  // One placeholder that serves as text, a number (toFixed) and a list (join, length).
  const placeholder = Object.assign(['x'], { toFixed: () => '1' });
  for (const line of Object.values(logs) as ((...args: unknown[]) => void)[])
    line(logger, ...Array.from({ length: line.length - 1 }, () => placeholder));
  return logger.entries.map((e) => e.event);
}

/** job.failed, as the job process writes it for an environment it cannot use. */
async function jobProcessEvents(): Promise<string[]> {
  const written: string[] = [];
  const quiet = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    let job: typeof import('../../jobs/train/index') | undefined;
    jest.isolateModules(() => {
      // The real disconnectIpc would disconnect this jest worker from its parent.
      jest.doMock('../../src/local/ipc/ipc-ports', () => ({
        connectPortsOverIpc: () => ({}),
        disconnectIpc: () => {},
      }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules needs a synchronous load
      job = require('../../jobs/train/index');
    });
    await job!.runTrainJobProcess({});
    jest.dontMock('../../src/local/ipc/ipc-ports');
  } finally {
    spy.mockRestore();
    quiet.mockRestore();
  }
  return written.flatMap((line) => {
    try {
      return [JSON.parse(line).event as string];
    } catch {
      return [];
    }
  });
}

/**
 * The stack's variables by kind, observed by asking src/config/stack-config.ts to write the
 * environment of a gcp and of an emulators stack (stackEnvVars), never by reading its source.
 */
function stackEnvByKind(): Pick<UsedNames, 'stackEnv' | 'jobOnlyEnv' | 'emulatorOnlyEnv'> {
  const gcp = { stack: 'gcp', projectId: 'p', region: 'r', bucket: 'b' } as const;
  const gcpNames = Object.keys(stackEnvVars(gcp));
  const withData = Object.keys(stackEnvVars({ ...gcp, dataDir: '/d' })).filter((n) => !gcpNames.includes(n));
  const emulators = Object.keys(
    stackEnvVars({
      stack: 'emulators',
      projectId: 'p',
      pubsubEmulatorHost: 'h:1',
      firestoreEmulatorHost: 'h:2',
      blobDir: '/b',
    }),
  ).filter((n) => !gcpNames.includes(n));
  return {
    stackEnv: gcpNames,
    // The cohort folder is optional to the stack but required by a gcp job until the BigQuery cohort
    // source exists (jobs/train/index.ts cohortFolder).
    jobOnlyEnv: [...withData, JOB_KEYS_DIR, JOB_LEDGER_BUCKET],
    emulatorOnlyEnv: emulators,
  };
}

function collectionIds(): string[] {
  const ids = new Set<string>();
  for (const make of Object.values(paths) as ((...args: unknown[]) => string)[]) {
    make('x', 1, 'x')
      .split('/')
      .forEach((segment, i) => {
        if (i % 2 === 0) ids.add(segment);
      });
  }
  return [...ids].sort();
}

export async function usedNames(): Promise<UsedNames> {
  const shape = JobEnvSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  const hospital = 'HOSPITAL';
  return {
    topics: { ...TOPICS },
    deadLetterTopics: Object.values(TOPICS).map(deadLetterTopic),
    subscriptions: [
      ...AGGREGATOR_SUBSCRIPTIONS.map((s) => ({
        name: s.name,
        topic: s.topic,
        entryPoint: 'aggregate',
        source: 'AGGREGATOR_SUBSCRIPTIONS' as const,
      })),
      ...AGENT_SUBSCRIPTIONS.map((s) => ({
        name: s.name,
        topic: s.topic,
        entryPoint: s.entryPoint,
        source: 'AGENT_SUBSCRIPTIONS' as const,
      })),
    ],
    functions: registeredFunctions(),
    jobPrefix: await observedJobPrefix(),
    jobEnv: Object.keys(shape)
      .filter((name) => !name.startsWith('CLOUD_RUN_'))
      .map((name) => ({ name, required: !shape[name].safeParse(undefined).success })),
    stackEnvVars: STACK_ENV_VARS,
    cloudServiceEnv: CLOUD_SERVICE_ENV_VARS,
    ...stackEnvByKind(),
    optionalJobEnv: [JOB_BACKEND],
    collections: collectionIds(),
    warehouseTables: WAREHOUSE_TABLES.map((t) => t.name),
    blob: {
      update: blobPaths.update('RUN', 3, hospital),
      releases: blobPaths.release('RUN', hospital, 'surveillance'),
      models: blobPaths.modelPrefix('VERSION'),
      ledgerMirror: blobPaths.ledgerMirror(hospital),
      hospital,
    },
    logEvents: [...new Set([...loggedEvents(), ...(await jobProcessEvents()), ...INLINE_JOB_EVENTS])].sort(),
  };
}
