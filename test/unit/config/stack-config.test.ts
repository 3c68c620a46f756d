import { BigQueryWarehouse } from '../../../src/adapters/gcp/bigquery-warehouse';
import { CloudRunJobRunner } from '../../../src/adapters/gcp/cloud-run-job-runner';
import { GeminiLanguageModel } from '../../../src/adapters/gcp/gemini-language-model';
import { VertexModelRegistry } from '../../../src/adapters/gcp/vertex-model-registry';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import {
  clinicalLanguageModelRecordValues,
  CLOUD_SERVICE_ENV_VARS,
  openCloudServices,
  openCohortSource,
  openStackPorts,
  readStackConfig,
  STACK_ENV_VARS,
  stackEnvVars,
} from '../../../src/config/stack-config';

describe('readStackConfig', () => {
  const emulators = {
    HIMAS_STACK: 'emulators',
    PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
    FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
    HIMAS_BLOB_DIR: '/tmp/blobs',
  };

  it('defaults to the local IPC stack of the embedded job runner', () => {
    expect(readStackConfig({})).toEqual({ stack: 'local-ipc', dataDir: undefined });
  });

  it('reads the emulator stack, defaulting the project to himas-local', () => {
    expect(readStackConfig({ ...emulators, HIMAS_DATA_DIR: '/data' })).toEqual({
      stack: 'emulators',
      projectId: 'himas-local',
      pubsubEmulatorHost: '127.0.0.1:8085',
      firestoreEmulatorHost: '127.0.0.1:8086',
      blobDir: '/tmp/blobs',
      dataDir: '/data',
    });
  });

  it('reads the gcp stack from the names Terraform sets', () => {
    expect(
      readStackConfig({
        HIMAS_STACK: 'gcp',
        HIMAS_PROJECT: 'p1',
        HIMAS_REGION: 'europe-west1',
        HIMAS_BUCKET: 'b1',
      }),
    ).toEqual({
      stack: 'gcp',
      projectId: 'p1',
      region: 'europe-west1',
      bucket: 'b1',
      dataDir: undefined,
      // Nothing else set: the warehouse dataset Terraform creates, no Vertex mirror, no Gemini.
      services: { warehouseDataset: 'himas_agents' },
    });
  });

  it.each([
    [{ HIMAS_STACK: 'aws' }, /HIMAS_STACK/],
    [{ HIMAS_STACK: 'gcp', HIMAS_BUCKET: 'b' }, /HIMAS_PROJECT is not set/],
    [{ HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p' }, /HIMAS_BUCKET is not set/],
    [
      { HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p', HIMAS_BUCKET: 'b', PUBSUB_EMULATOR_HOST: 'h:1' },
      /unset them/,
    ],
    [{ ...emulators, PUBSUB_EMULATOR_HOST: undefined }, /PUBSUB_EMULATOR_HOST is not set/],
    [{ ...emulators, FIRESTORE_EMULATOR_HOST: 'localhost' }, /FIRESTORE_EMULATOR_HOST must be host:port/],
    [{ ...emulators, HIMAS_BLOB_DIR: ' ' }, /HIMAS_BLOB_DIR is not set/],
  ])('names the variable that is wrong: %j', (env, message) => {
    expect(() => readStackConfig(env)).toThrow(message);
  });

  it('round-trips through the variables a stack process is started with', () => {
    const config = readStackConfig({ ...emulators, HIMAS_DATA_DIR: '/data' });
    if (config.stack === 'local-ipc') throw new Error('unreachable');
    const vars = stackEnvVars(config);
    expect(Object.keys(vars).every((name) => (STACK_ENV_VARS as readonly string[]).includes(name))).toBe(
      true,
    );
    expect(readStackConfig(vars)).toEqual(config);
  });
});

describe('readStackConfig: the gcp services with no emulator', () => {
  const gcp = { HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p1', HIMAS_REGION: 'europe-west1', HIMAS_BUCKET: 'b1' };
  const services = (env: Record<string, string>) => {
    const config = readStackConfig({ ...gcp, ...env });
    if (config.stack !== 'gcp') throw new Error('unreachable');
    return config.services;
  };

  it('reads the dataset, location, Vertex parent model and Gemini model', () => {
    expect(
      services({
        HIMAS_WAREHOUSE_DATASET: 'himas_agents_dev',
        HIMAS_BIGQUERY_LOCATION: 'EU',
        HIMAS_VERTEX_MODEL: 'himas-icu-mortality',
        HIMAS_VERTEX_SERVING_IMAGE: 'europe-docker.pkg.dev/p1/himas/tfjs-serving:1',
        HIMAS_GEMINI_MODEL: 'gemini-2.5-flash',
        GEMINI_API_KEY: 'k',
      }),
    ).toEqual({
      warehouseDataset: 'himas_agents_dev',
      bigQueryLocation: 'EU',
      // The Vertex region falls back to HIMAS_REGION.
      vertex: {
        parentModelId: 'himas-icu-mortality',
        region: 'europe-west1',
        servingImageUri: 'europe-docker.pkg.dev/p1/himas/tfjs-serving:1',
      },
      gemini: { model: 'gemini-2.5-flash', apiKey: 'k' },
    });
    expect(
      services({
        HIMAS_VERTEX_MODEL: 'm',
        HIMAS_VERTEX_SERVING_IMAGE: 'i',
        HIMAS_VERTEX_REGION: 'us-central1',
      })?.vertex?.region,
    ).toBe('us-central1');
  });

  it.each([
    [{ HIMAS_VERTEX_MODEL: 'himas-icu' }, /HIMAS_VERTEX_SERVING_IMAGE is not set: .*TensorFlow.js/],
    [
      { HIMAS_VERTEX_MODEL: 'Himas Model', HIMAS_VERTEX_SERVING_IMAGE: 'i' },
      /HIMAS_VERTEX_MODEL must be a Vertex AI model id/,
    ],
    [
      { HIMAS_VERTEX_MODEL: 'm', HIMAS_VERTEX_SERVING_IMAGE: 'i', HIMAS_REGION: '' },
      /HIMAS_VERTEX_REGION is not set/,
    ],
    [{ HIMAS_GEMINI_MODEL: 'gemini-2.5-flash' }, /GEMINI_API_KEY is not set: .*Secret Manager/],
    [{ GEMINI_API_KEY: 'k' }, /HIMAS_GEMINI_MODEL is not set/],
    [{ HIMAS_WAREHOUSE_DATASET: 'himas-agents' }, /HIMAS_WAREHOUSE_DATASET must be a BigQuery dataset id/],
  ])('names the variable that is wrong: %j', (env, message) => {
    expect(() => readStackConfig({ ...gcp, ...env })).toThrow(message);
  });

  it('the service variables are not stack variables Terraform must set on every process', () => {
    for (const name of CLOUD_SERVICE_ENV_VARS)
      expect(STACK_ENV_VARS as readonly string[]).not.toContain(name);
    const config = readStackConfig({ ...gcp, HIMAS_GEMINI_MODEL: 'g', GEMINI_API_KEY: 'secret' });
    if (config.stack !== 'gcp') throw new Error('unreachable');
    // Started processes get their services from Terraform, and the key never travels this way.
    expect(Object.values(stackEnvVars(config))).not.toContain('secret');
  });

  it('the emulator stack ignores them', () => {
    const config = readStackConfig({
      HIMAS_STACK: 'emulators',
      PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
      HIMAS_BLOB_DIR: '/tmp/blobs',
      HIMAS_VERTEX_MODEL: 'm',
    });
    expect(config).not.toHaveProperty('services');
  });
});

describe('openCloudServices and openCohortSource', () => {
  const config = {
    stack: 'gcp' as const,
    projectId: 'p1',
    region: 'europe-west1',
    bucket: 'b1',
    services: { warehouseDataset: 'himas_agents', gemini: { model: 'gemini-2.5-flash', apiKey: 'k' } },
  };

  it('gives BigQuery, Cloud Run and Gemini adapters on the gcp stack (no request is made)', () => {
    const services = openCloudServices(config);
    expect(services.warehouse).toBeInstanceOf(BigQueryWarehouse);
    expect(services.cohorts.describe()).toEqual({ kind: 'bigquery', location: 'p1.himas_<hospital>.cohort' });
    expect(services.languageModel).toBeInstanceOf(GeminiLanguageModel);
    expect(services.jobs()).toBeInstanceOf(CloudRunJobRunner);
    expect(openCloudServices({ ...config, services: undefined }).languageModel).toBeUndefined();
    expect(() => openCloudServices({ ...config, region: undefined }).jobs()).toThrow(
      /HIMAS_REGION is not set/,
    );
  });

  it('the model registry of a gcp stack mirrors to Vertex AI only when HIMAS_VERTEX_MODEL is set', async () => {
    const vertex = { parentModelId: 'himas-icu-mortality', region: 'europe-west4', servingImageUri: 'i' };
    const mirrored = openStackPorts({ ...config, services: { ...config.services, vertex } });
    const plain = openStackPorts(config);
    try {
      expect(mirrored.models).toBeInstanceOf(VertexModelRegistry);
      expect((mirrored.models as VertexModelRegistry).parentModelName).toBe(
        'projects/p1/locations/europe-west4/models/himas-icu-mortality',
      );
      expect(plain.models).toBeInstanceOf(DocumentModelRegistry);
    } finally {
      await mirrored.close();
      await plain.close();
    }
  });

  it('reads cohorts from HIMAS_DATA_DIR when set, else from BigQuery on gcp, else says what to set', () => {
    expect(openCohortSource({ ...config, dataDir: '/data' }).describe().kind).toBe('csv');
    expect(openCohortSource(config).describe().kind).toBe('bigquery');
    expect(() =>
      openCohortSource({
        stack: 'emulators',
        projectId: 'p',
        pubsubEmulatorHost: 'h:1',
        firestoreEmulatorHost: 'h:2',
        blobDir: '/b',
      }),
    ).toThrow(/HIMAS_DATA_DIR is not set/);
  });
});

describe('clinicalLanguageModelRecordValues', () => {
  it('is off unless the deployment opts in, and names the variable and the allowed values otherwise', () => {
    expect(clinicalLanguageModelRecordValues({})).toBe(false);
    expect(clinicalLanguageModelRecordValues({ HIMAS_CLINICAL_LLM_RECORD_VALUES: 'false' })).toBe(false);
    expect(clinicalLanguageModelRecordValues({ HIMAS_CLINICAL_LLM_RECORD_VALUES: 'true' })).toBe(true);
    expect(() => clinicalLanguageModelRecordValues({ HIMAS_CLINICAL_LLM_RECORD_VALUES: 'yes' })).toThrow(
      /HIMAS_CLINICAL_LLM_RECORD_VALUES = 'yes' must be 'true' or 'false'/,
    );
  });
});
