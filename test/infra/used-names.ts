import { readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { paths, blobPaths } from '../../schemas/documents';
import { deadLetterTopic, TOPICS } from '../../schemas/events';
import { JobEnvSchema } from '../../src/config/job-env';
import { memoryLogger } from '../../src/logging/logger';
import { logs } from '../../src/logs';
import { AGGREGATOR_SUBSCRIPTIONS } from '../../src/local/embedded-platform';
import { JOB_PREFIX } from '../../src/local/workflow-training';
import { REPO_ROOT } from './terraform-model';

/**
 * What the code uses, collected from its exported constants and by calling it (never by grepping
 * source text): topics, subscriptions, function entry points, the job name, environment variables,
 * Firestore collections, blob paths and log events.
 */
export interface UsedNames {
  topics: Record<string, string>;
  deadLetterTopics: string[];
  subscriptions: { name: string; topic: string }[];
  functions: { entryPoint: string; kind: 'cloudEvent' | 'http'; dir: string }[];
  jobPrefix: string;
  /** Per-execution variables of src/config/job-env.ts (CLOUD_RUN_* are set by Cloud Run itself). */
  jobEnv: { name: string; required: boolean }[];
  /**
   * The Google Cloud stack's variables. Planned here until src/adapters/gcp (in progress) exports
   * its own list; then import it instead. Jobs also get HIMAS_COHORT_TABLE.
   */
  stackEnv: string[];
  jobOnlyEnv: string[];
  collections: string[];
  blob: { update: string; statistics: string; models: string; hospital: string };
  logEvents: string[];
}

export const PLANNED_GCP_STACK_ENV = ['HIMAS_STACK', 'HIMAS_PROJECT', 'HIMAS_REGION', 'HIMAS_BUCKET'];
export const PLANNED_GCP_JOB_ENV = ['HIMAS_COHORT_TABLE'];
/** Written inline by jobs/train/index.ts rather than through src/logs.ts (job.failed is observed below). */
const INLINE_JOB_EVENTS = ['job.finished'];

/** Entry points registered by functions/<dir>/index.ts, observed through a stand-in functions-framework. */
function registeredFunctions(): UsedNames['functions'] {
  const found: UsedNames['functions'] = [];
  // Re-loading TensorFlow.js in an isolated registry only repeats its registration warnings.
  const quiet = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const dirs = readdirSync(path.join(REPO_ROOT, 'functions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(REPO_ROOT, 'functions', d.name, 'index.ts')))
    .map((d) => d.name);
  for (const dir of dirs) {
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
    subscriptions: AGGREGATOR_SUBSCRIPTIONS.map((s) => ({ name: s.name, topic: s.topic })),
    functions: registeredFunctions(),
    jobPrefix: await observedJobPrefix(),
    jobEnv: Object.keys(shape)
      .filter((name) => !name.startsWith('CLOUD_RUN_'))
      .map((name) => ({ name, required: !shape[name].safeParse(undefined).success })),
    stackEnv: PLANNED_GCP_STACK_ENV,
    jobOnlyEnv: PLANNED_GCP_JOB_ENV,
    collections: collectionIds(),
    blob: {
      update: blobPaths.update('RUN', 3, hospital),
      statistics: blobPaths.statistics('RUN', hospital),
      models: blobPaths.modelPrefix('VERSION'),
      hospital,
    },
    logEvents: [...new Set([...loggedEvents(), ...(await jobProcessEvents()), ...INLINE_JOB_EVENTS])].sort(),
  };
}
