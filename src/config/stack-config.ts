import { z } from 'zod';
import type { BlobStore } from '../ports/blob-store';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { CohortSource } from '../ports/cohort-source';
import type { JobRunner } from '../ports/job-runner';
import type { LanguageModel } from '../ports/language-model';
import type { ModelRegistry } from '../ports/model-registry';
import type { Warehouse } from '../ports/warehouse';

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

/**
 * Optional variables of the gcp stack for the services with no emulator (BigQuery, Vertex AI,
 * Gemini). Kept apart from STACK_ENV_VARS, which test/infra requires Terraform to provision on
 * every function and job: these have defaults matching Terraform's names or switch a feature on,
 * so an unset one never breaks a deployment. GEMINI_API_KEY is injected from Secret Manager only.
 */
export const CLOUD_SERVICE_ENV_VARS = [
  'HIMAS_WAREHOUSE_DATASET',
  'HIMAS_BIGQUERY_LOCATION',
  'HIMAS_VERTEX_MODEL',
  'HIMAS_VERTEX_REGION',
  'HIMAS_VERTEX_SERVING_IMAGE',
  'HIMAS_GEMINI_MODEL',
  'GEMINI_API_KEY',
  'HIMAS_CLINICAL_LLM_RECORD_VALUES',
] as const;

/** terraform/contract.tf `warehouse_dataset`. */
export const DEFAULT_WAREHOUSE_DATASET = 'himas_agents';

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
  HIMAS_WAREHOUSE_DATASET: optional.refine((v) => v === undefined || /^[A-Za-z0-9_]{1,1024}$/.test(v), {
    message: 'must be a BigQuery dataset id (letters, digits, underscores)',
  }),
  HIMAS_BIGQUERY_LOCATION: optional,
  // Vertex AI model ids: up to 63 of [a-z0-9_-], not starting with a digit or '-'.
  HIMAS_VERTEX_MODEL: optional.refine((v) => v === undefined || /^[a-z_][a-z0-9_-]{0,62}$/.test(v), {
    message: 'must be a Vertex AI model id (up to 63 of a-z, 0-9, _ and -, starting with a letter)',
  }),
  HIMAS_VERTEX_REGION: optional,
  HIMAS_VERTEX_SERVING_IMAGE: optional,
  HIMAS_GEMINI_MODEL: optional,
  GEMINI_API_KEY: optional,
  // Deployment opt-in for the clinical agent only: send a stay's values to the language model.
  HIMAS_CLINICAL_LLM_RECORD_VALUES: z.enum(['true', 'false']).default('false'),
});

/** Whether this deployment lets the clinical agent send a stay's values to the language model. */
export function clinicalLanguageModelRecordValues(env: NodeJS.ProcessEnv): boolean {
  const parsed = StackEnvSchema.shape.HIMAS_CLINICAL_LLM_RECORD_VALUES.safeParse(
    env.HIMAS_CLINICAL_LLM_RECORD_VALUES,
  );
  if (!parsed.success)
    throw new StackConfigError(
      `HIMAS_CLINICAL_LLM_RECORD_VALUES = '${env.HIMAS_CLINICAL_LLM_RECORD_VALUES}' must be 'true' or 'false' (default false: only the template's facts, never a stay's values, reach the language model)`,
    );
  return parsed.data === 'true';
}

/** The gcp stack's services with no emulator; each is off or defaulted when its variables are unset. */
export interface CloudServicesConfig {
  /** BigQuery dataset of the agents' warehouse tables (default himas_agents). */
  warehouseDataset: string;
  /** BigQuery location of the datasets (the jobs run there); the client's default when unset. */
  bigQueryLocation?: string;
  /** The Vertex AI Model Registry mirror of model versions; off when HIMAS_VERTEX_MODEL is unset. */
  vertex?: { parentModelId: string; region: string; servingImageUri: string };
  /** Gemini for the agents' prose; off (template writers) when HIMAS_GEMINI_MODEL is unset. */
  gemini?: { model: string; apiKey: string };
}

export type StackConfig =
  | { stack: 'local-ipc'; dataDir?: string }
  | {
      stack: 'gcp';
      projectId: string;
      region?: string;
      bucket: string;
      dataDir?: string;
      /** Set by readStackConfig; absent when a caller builds the config by hand (defaults apply). */
      services?: CloudServicesConfig;
    }
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
  const need = (
    name: (typeof STACK_ENV_VARS)[number] | (typeof CLOUD_SERVICE_ENV_VARS)[number],
    value: string | undefined,
    why: string,
  ): string => {
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
      services: {
        warehouseDataset: e.HIMAS_WAREHOUSE_DATASET ?? DEFAULT_WAREHOUSE_DATASET,
        ...(e.HIMAS_BIGQUERY_LOCATION ? { bigQueryLocation: e.HIMAS_BIGQUERY_LOCATION } : {}),
        ...(e.HIMAS_VERTEX_MODEL
          ? {
              vertex: {
                parentModelId: e.HIMAS_VERTEX_MODEL,
                region: need(
                  'HIMAS_VERTEX_REGION',
                  e.HIMAS_VERTEX_REGION ?? e.HIMAS_REGION,
                  'the Vertex AI region of the model registry (or HIMAS_REGION)',
                ),
                servingImageUri: need(
                  'HIMAS_VERTEX_SERVING_IMAGE',
                  e.HIMAS_VERTEX_SERVING_IMAGE,
                  'HIMAS_VERTEX_MODEL is set, and Vertex AI records a serving container with each version (no prebuilt one serves TensorFlow.js files)',
                ),
              },
            }
          : {}),
        ...(e.HIMAS_GEMINI_MODEL || e.GEMINI_API_KEY
          ? {
              gemini: {
                model: need(
                  'HIMAS_GEMINI_MODEL',
                  e.HIMAS_GEMINI_MODEL,
                  'GEMINI_API_KEY is set; name the model too (e.g. gemini-2.5-flash)',
                ),
                apiKey: need(
                  'GEMINI_API_KEY',
                  e.GEMINI_API_KEY,
                  'HIMAS_GEMINI_MODEL is set; inject the key from Secret Manager (never commit it)',
                ),
              },
            }
          : {}),
      },
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
  const documentModels = new DocumentModelRegistry(stack.documents, blobs);
  const vertex = config.stack === 'gcp' ? config.services?.vertex : undefined;
  return {
    documents: stack.documents,
    events: stack.events,
    blobs,
    models:
      config.stack === 'gcp' && vertex ? vertexModelRegistry(config, vertex, documentModels) : documentModels,
    close: () => stack.close(),
  };
}

type GcpStackConfig = Extract<StackConfig, { stack: 'gcp' }>;

function vertexModelRegistry(
  config: GcpStackConfig,
  vertex: NonNullable<CloudServicesConfig['vertex']>,
  inner: ModelRegistry,
): ModelRegistry {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { ModelServiceClient } =
    require('@google-cloud/aiplatform') as typeof import('@google-cloud/aiplatform');
  const { VertexModelRegistry } =
    require('../adapters/gcp/vertex-model-registry') as typeof import('../adapters/gcp/vertex-model-registry');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // Vertex AI answers only on its regional endpoint.
  const client = new ModelServiceClient({ apiEndpoint: `${vertex.region}-aiplatform.googleapis.com` });
  return new VertexModelRegistry(inner, client, {
    projectId: config.projectId,
    region: vertex.region,
    parentModelId: vertex.parentModelId,
    bucket: config.bucket,
    servingImageUri: vertex.servingImageUri,
  });
}

/** The gcp stack's services with no emulator, for the agents, the hospital job and a cloud job runner. */
export interface CloudServices {
  /** The agents' warehouse: BigQuery dataset HIMAS_WAREHOUSE_DATASET (default himas_agents). */
  warehouse: Warehouse;
  /** Hospitals' cohorts: BigQuery `<project>.himas_<hospital>.cohort`, split by a hash of stay_id. */
  cohorts: CohortSource;
  /** Cloud Run jobs of HIMAS_PROJECT in HIMAS_REGION (himas-train-<hospital>). */
  jobs(): JobRunner;
  /** Gemini when HIMAS_GEMINI_MODEL is set; otherwise undefined (the agents' template writers). */
  languageModel?: LanguageModel;
}

/** Opens the services of a gcp stack; the SDKs load here, so other stacks never pay for them. */
export function openCloudServices(config: GcpStackConfig): CloudServices {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { BigQuery } = require('@google-cloud/bigquery') as typeof import('@google-cloud/bigquery');
  const { BigQueryWarehouse } =
    require('../adapters/gcp/bigquery-warehouse') as typeof import('../adapters/gcp/bigquery-warehouse');
  const { BigQueryCohortSource } =
    require('../adapters/gcp/bigquery-cohort-source') as typeof import('../adapters/gcp/bigquery-cohort-source');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const services = config.services ?? { warehouseDataset: DEFAULT_WAREHOUSE_DATASET };
  const bigquery = new BigQuery({ projectId: config.projectId, location: services.bigQueryLocation });
  return {
    warehouse: new BigQueryWarehouse(bigquery, {
      projectId: config.projectId,
      dataset: services.warehouseDataset,
      location: services.bigQueryLocation,
    }),
    cohorts: new BigQueryCohortSource(bigquery, {
      projectId: config.projectId,
      location: services.bigQueryLocation,
    }),
    jobs: () => {
      if (!config.region)
        throw new StackConfigError('HIMAS_REGION is not set: the region of the Cloud Run jobs');
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { v2 } = require('@google-cloud/run') as typeof import('@google-cloud/run');
      const { CloudRunJobRunner } =
        require('../adapters/gcp/cloud-run-job-runner') as typeof import('../adapters/gcp/cloud-run-job-runner');
      /* eslint-enable @typescript-eslint/no-require-imports */
      return new CloudRunJobRunner(
        new v2.JobsClient(),
        { projectId: config.projectId, region: config.region },
        new v2.ExecutionsClient(),
      );
    },
    languageModel: services.gemini ? openGemini(services.gemini) : undefined,
  };
}

/**
 * A hospital's cohort: the CSV folder HIMAS_DATA_DIR when set (local stacks, or a mounted export),
 * else on the gcp stack its BigQuery table `himas_<hospital>.cohort`.
 */
export function openCohortSource(config: StackConfig): CohortSource {
  if (config.dataDir) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { CsvCohortSource } =
      require('../adapters/cohort/csv-cohort-source') as typeof import('../adapters/cohort/csv-cohort-source');
    /* eslint-enable @typescript-eslint/no-require-imports */
    return new CsvCohortSource(config.dataDir);
  }
  if (config.stack === 'gcp') return openCloudServices(config).cohorts;
  throw new StackConfigError('HIMAS_DATA_DIR is not set: the folder with <hospital>.train.csv and .test.csv');
}

function openGemini(gemini: NonNullable<CloudServicesConfig['gemini']>): LanguageModel {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { GeminiLanguageModel } =
    require('../adapters/gcp/gemini-language-model') as typeof import('../adapters/gcp/gemini-language-model');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new GeminiLanguageModel({ apiKey: gemini.apiKey, model: gemini.model });
}
