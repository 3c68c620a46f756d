import { z } from 'zod';
import type { BlobStore } from '../ports/blob-store';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { ModelRegistry } from '../ports/model-registry';

/**
 * The stack's environment, read once and validated here (STYLE.md habit 2). Cloud Run jobs and
 * Cloud Functions get HIMAS_STACK/PROJECT/REGION/BUCKET from Terraform (terraform/contract.tf
 * `stack_env`); the emulator stack sets the emulator hosts and a shared blob folder instead of a
 * bucket, because Cloud Storage has no emulator.
 */
export const STACK_ENV_VARS = [
  'HIMAS_STACK',
  'HIMAS_PROJECT',
  'HIMAS_REGION',
  'HIMAS_BUCKET',
  'PUBSUB_EMULATOR_HOST',
  'FIRESTORE_EMULATOR_HOST',
  'HIMAS_BLOB_DIR',
  'HIMAS_DATA_DIR',
] as const;

export type StackKind = 'gcp' | 'emulators' | 'local-ipc';

const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));
const hostPort = optional.refine((value) => value === undefined || /^[^:\s]+:\d{1,5}$/.test(value), {
  message: 'must be host:port (e.g. 127.0.0.1:8085)',
});

const StackEnvSchema = z.object({
  HIMAS_STACK: z.enum(['gcp', 'emulators', 'local-ipc']).default('local-ipc'),
  HIMAS_PROJECT: optional,
  HIMAS_REGION: optional,
  HIMAS_BUCKET: optional,
  PUBSUB_EMULATOR_HOST: hostPort,
  FIRESTORE_EMULATOR_HOST: hostPort,
  HIMAS_BLOB_DIR: optional,
  HIMAS_DATA_DIR: optional,
});

export type StackConfig =
  | { stack: 'local-ipc'; dataDir?: string }
  | { stack: 'gcp'; projectId: string; region?: string; bucket: string; dataDir?: string }
  | {
      stack: 'emulators';
      projectId: string;
      pubsubEmulatorHost: string;
      firestoreEmulatorHost: string;
      blobDir: string;
      dataDir?: string;
    };

export class StackConfigError extends Error {
  constructor(message: string) {
    super(`stack configuration: ${message}`);
    this.name = 'StackConfigError';
  }
}

/** Reads and validates the stack's variables; every error names the variable to set. */
export function readStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const parsed = StackEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new StackConfigError(`${name} ${issue.message} (got ${JSON.stringify(env[name])})`);
  }
  const e = parsed.data;
  const need = (name: (typeof STACK_ENV_VARS)[number], value: string | undefined, why: string): string => {
    if (value === undefined) throw new StackConfigError(`${name} is not set: ${why}`);
    return value;
  };
  if (e.HIMAS_STACK === 'local-ipc') return { stack: 'local-ipc', dataDir: e.HIMAS_DATA_DIR };
  if (e.HIMAS_STACK === 'gcp') {
    if (e.PUBSUB_EMULATOR_HOST || e.FIRESTORE_EMULATOR_HOST) {
      throw new StackConfigError(
        'HIMAS_STACK=gcp but PUBSUB_EMULATOR_HOST or FIRESTORE_EMULATOR_HOST is set; unset them, or use HIMAS_STACK=emulators',
      );
    }
    return {
      stack: 'gcp',
      projectId: need('HIMAS_PROJECT', e.HIMAS_PROJECT, 'the Google Cloud project id of the stack'),
      region: e.HIMAS_REGION,
      bucket: need('HIMAS_BUCKET', e.HIMAS_BUCKET, 'the Cloud Storage bucket for updates and models'),
      dataDir: e.HIMAS_DATA_DIR,
    };
  }
  return {
    stack: 'emulators',
    projectId: e.HIMAS_PROJECT ?? 'himas-local',
    pubsubEmulatorHost: need(
      'PUBSUB_EMULATOR_HOST',
      e.PUBSUB_EMULATOR_HOST,
      'host:port of the Pub/Sub emulator',
    ),
    firestoreEmulatorHost: need(
      'FIRESTORE_EMULATOR_HOST',
      e.FIRESTORE_EMULATOR_HOST,
      'host:port of the Firestore emulator',
    ),
    blobDir: need(
      'HIMAS_BLOB_DIR',
      e.HIMAS_BLOB_DIR,
      'the folder every process of the emulator stack shares for blobs (Cloud Storage has no emulator)',
    ),
    dataDir: e.HIMAS_DATA_DIR,
  };
}

/** The inverse, for whoever starts a process of the stack (functions, jobs). */
export function stackEnvVars(config: Exclude<StackConfig, { stack: 'local-ipc' }>): Record<string, string> {
  const vars: Record<string, string> = { HIMAS_STACK: config.stack, HIMAS_PROJECT: config.projectId };
  if (config.stack === 'emulators') {
    vars.PUBSUB_EMULATOR_HOST = config.pubsubEmulatorHost;
    vars.FIRESTORE_EMULATOR_HOST = config.firestoreEmulatorHost;
    vars.HIMAS_BLOB_DIR = config.blobDir;
  } else {
    vars.HIMAS_BUCKET = config.bucket;
    if (config.region) vars.HIMAS_REGION = config.region;
  }
  if (config.dataDir) vars.HIMAS_DATA_DIR = config.dataDir;
  return vars;
}

export interface StackPorts {
  documents: DocumentStore;
  blobs: BlobStore;
  events: EventBus;
  models: ModelRegistry;
  close(): Promise<void>;
}

/**
 * The Google Cloud adapters for a gcp or emulators stack: Firestore documents, Pub/Sub events,
 * blobs in the bucket (gcp) or the shared folder (emulators), and the model registry over them.
 * The SDKs load lazily, so the embedded stack never pays for them.
 */
export function openStackPorts(config: StackConfig): StackPorts {
  if (config.stack === 'local-ipc') {
    throw new StackConfigError(
      'HIMAS_STACK=local-ipc has no ports of its own (the local job runner serves them over IPC)',
    );
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const gcp = require('../adapters/gcp') as typeof import('../adapters/gcp');
  const { FileBlobStore } =
    require('../adapters/embedded/file-blob-store') as typeof import('../adapters/embedded/file-blob-store');
  const { DocumentModelRegistry } =
    require('../adapters/model-registry/document-model-registry') as typeof import('../adapters/model-registry/document-model-registry');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const stack =
    config.stack === 'emulators'
      ? gcp.openGcpStack({
          projectId: config.projectId,
          pubsubEmulatorHost: config.pubsubEmulatorHost,
          firestoreEmulatorHost: config.firestoreEmulatorHost,
        })
      : // In the cloud Terraform owns topics and subscriptions; the runtime account may not create them.
        gcp.openGcpStack({
          projectId: config.projectId,
          bucket: config.bucket,
          events: { createResources: false },
        });
  const blobs: BlobStore = config.stack === 'emulators' ? new FileBlobStore(config.blobDir) : stack.blobs!;
  return {
    documents: stack.documents,
    events: stack.events,
    blobs,
    models: new DocumentModelRegistry(stack.documents, blobs),
    close: () => stack.close(),
  };
}
