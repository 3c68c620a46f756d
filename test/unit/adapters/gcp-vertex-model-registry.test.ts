/**
 * VertexModelRegistry at the request level: the real ModelServiceClient (@google-cloud/aiplatform)
 * in its HTTP/JSON mode (`fallback: true`) against a loopback server, over a real inner registry
 * (DocumentModelRegistry on the embedded stack). Pins what is uploaded (parent model, artifact
 * folder, labels, container), the lookup that makes a retry idempotent, the retry policy and that
 * a failed upload never loses the stored version.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ModelServiceClient } from '@google-cloud/aiplatform';
import type { ModelVersionDocument } from '../../../schemas/documents';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import {
  epsilonLabel,
  VertexModelRegistry,
  VertexUploadError,
  vertexLabels,
  vertexLabelValue,
} from '../../../src/adapters/gcp/vertex-model-registry';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { FakeGoogleRestServer, restError, type RestAnswer } from './fixtures/fake-google-rest-server';

const LOCATION = 'projects/himas-test/locations/europe-west4';
const PARENT = `${LOCATION}/models/himas-icu-mortality`;
const weights = new Uint8Array([1, 2, 3, 4]);

function versionDoc(round: number): ModelVersionDocument {
  const guarantee = {
    delta: 1e-5,
    order: 8,
    noiseMultiplier: 0.5,
    clipNorm: 1,
    samplingProbability: 1,
    steps: round,
    accountant: 'rdp-sampled-gaussian+balle2020' as const,
    budgetEpsilon: null,
  };
  const versionId = `Run.2026-11_A-r${String(round).padStart(4, '0')}`;
  return {
    versionId,
    runId: 'Run.2026-11_A',
    round,
    parentVersionId: null,
    createdAt: '2026-11-27T00:00:00.000Z',
    artifactPath: `models/${versionId}/`,
    sha256: createHash('sha256').update(weights).digest('hex'),
    numParameters: 4,
    modelSpec: { kind: 'logistic', inputDim: 3, hiddenUnits: [] },
    featureNames: ['a', 'b', 'c'],
    participants: ['h1', 'h2'],
    privacy: [
      { ...guarantee, unit: 'hospital', epsilon: 48.812 },
      { ...guarantee, unit: 'patient', epsilon: null },
    ],
    hospitalPrivacy: [],
    pooled: null,
    halted: false,
  };
}

const uploaded = (versionId: string): RestAnswer => ({
  json: {
    name: `${LOCATION}/operations/upload-1`,
    done: true,
    response: {
      '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse',
      model: PARENT,
      modelVersionId: versionId,
    },
  },
});

describe('VertexModelRegistry against a fake Vertex AI REST endpoint', () => {
  let server: FakeGoogleRestServer;
  let client: ModelServiceClient;
  let home: string;
  let stack: EmbeddedStack;
  let registry: VertexModelRegistry;
  let inner: DocumentModelRegistry;
  let sleeps: number[];

  beforeAll(async () => {
    server = await new FakeGoogleRestServer().start();
    client = new ModelServiceClient(
      server.clientOptions<ConstructorParameters<typeof ModelServiceClient>[0]>(),
    );
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });
  beforeEach(async () => {
    server.reset();
    sleeps = [];
    home = await mkdtemp(path.join(tmpdir(), 'himas-vertex-'));
    stack = await openEmbeddedStack(home);
    inner = new DocumentModelRegistry(stack.documents, stack.blobs);
    registry = new VertexModelRegistry(inner, client, {
      projectId: 'himas-test',
      region: 'europe-west4',
      parentModelId: 'himas-icu-mortality',
      bucket: 'himas-artifacts',
      servingImageUri: 'europe-docker.pkg.dev/himas-test/himas/tfjs-serving:1',
      retry: { maxAttempts: 3, sleep: async (ms) => void sleeps.push(ms) },
    });
  });
  afterEach(async () => {
    await stack.close();
    await rm(home, { recursive: true, force: true });
  });

  const uploads = () => server.requests.filter((r) => r.path.endsWith('/models:upload'));

  test('a new version is uploaded under the parent model with its folder, labels and container', async () => {
    server.route('GET', /:listVersions$/, { json: { models: [] } });
    server.route('POST', /\/models:upload$/, uploaded('7'));
    const doc = versionDoc(3);
    const result = await registry.register(doc, { modelJson: { format: 'layers-model' }, weights });

    expect(result.created).toBe(true);
    const [list] = server.requests;
    expect(list.path).toBe(`/v1/${PARENT}:listVersions`);
    expect(list.query.filter).toBe('labels.himas_run="run_2026-11_a"');
    expect(uploads()).toHaveLength(1);
    expect(uploads()[0].path).toBe(`/v1/${LOCATION}/models:upload`);
    expect(uploads()[0].body).toEqual({
      parentModel: PARENT,
      model: {
        displayName: 'himas-icu-mortality',
        description: expect.stringContaining('TensorFlow.js'),
        versionDescription: expect.stringContaining('hospital-level ε=48.81 at δ=0.00001'),
        artifactUri: `gs://himas-artifacts/models/${doc.versionId}/`,
        labels: {
          himas_run: 'run_2026-11_a',
          himas_round: '3',
          himas_version: 'run_2026-11_a-r0003',
          epsilon_hospital: '48_8',
          epsilon_patient: 'inf',
        },
        containerSpec: { imageUri: 'europe-docker.pkg.dev/himas-test/himas/tfjs-serving:1' },
      },
    });
  });

  test('the first version of all creates the parent model (modelId) when it does not exist yet', async () => {
    server.route('GET', /:listVersions$/, restError(404, 'NOT_FOUND', 'Model does not exist.'));
    server.route('POST', /\/models:upload$/, (r) =>
      r.body?.parentModel ? restError(404, 'NOT_FOUND', 'Parent model not found.') : uploaded('1'),
    );
    await registry.register(versionDoc(0), { modelJson: {}, weights });
    expect(uploads().map((r) => [r.body?.parentModel, r.body?.modelId])).toEqual([
      [PARENT, undefined],
      [undefined, 'himas-icu-mortality'],
    ]);
  });

  test('a retry finds the version by its label and uploads nothing again', async () => {
    server.route('GET', /:listVersions$/, { json: { models: [] } });
    server.route('POST', /\/models:upload$/, uploaded('4'));
    const doc = versionDoc(4);
    await registry.register(doc, { modelJson: {}, weights });
    server.route('GET', /:listVersions$/, {
      json: { models: [{ name: PARENT, versionId: '4', labels: vertexLabels(doc) }] },
    });
    const again = await registry.register(doc, { modelJson: {}, weights });
    expect(again.created).toBe(false);
    expect(uploads()).toHaveLength(1);
  });

  test('transient errors (503, 429) are retried with backoff, then the upload succeeds once', async () => {
    server.route('GET', /:listVersions$/, { json: { models: [] } });
    let calls = 0;
    server.route('POST', /\/models:upload$/, () =>
      ++calls === 1
        ? restError(503, 'UNAVAILABLE', 'try later')
        : calls === 2
          ? restError(429, 'RESOURCE_EXHAUSTED', 'quota')
          : uploaded('5'),
    );
    await registry.register(versionDoc(5), { modelJson: {}, weights });
    expect(calls).toBe(3);
    expect(sleeps).toHaveLength(2);
    // Each retry first looks the version up: the failed attempt might have uploaded it.
    const lookups = server.requests.filter((r) => r.query.filter?.startsWith('labels.himas_version='));
    expect(lookups).toHaveLength(2);
  });

  test('when Vertex stays down the version is still stored; the error names it; syncRun uploads it later', async () => {
    server.route('GET', /:listVersions$/, { json: { models: [] } });
    server.route('POST', /\/models:upload$/, restError(503, 'UNAVAILABLE', 'Vertex is down'));
    const doc = versionDoc(6);
    const failed = registry.register(doc, { modelJson: {}, weights });
    await expect(failed).rejects.toThrow(VertexUploadError);
    await expect(failed).rejects.toThrow(
      new RegExp(
        `model version ${doc.versionId.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is stored .* Vertex is down`,
      ),
    );
    expect(uploads()).toHaveLength(3); // maxAttempts
    expect(await inner.get(doc.versionId)).toEqual(doc);

    server.route('POST', /\/models:upload$/, uploaded('6'));
    expect(await registry.syncRun(doc.runId)).toEqual([doc.versionId]);
    expect(uploads()).toHaveLength(4);
  });

  test("a version missed in an outage is mirrored with the run's next version, oldest first", async () => {
    // A stateful Vertex: listing by run returns what was uploaded.
    const models: { versionId: string; labels: Record<string, string> }[] = [];
    let down = true;
    server.route('GET', /:listVersions$/, () => ({ json: { models } }));
    server.route('POST', /\/models:upload$/, (r) => {
      if (down) return restError(503, 'UNAVAILABLE', 'Vertex is down');
      const labels = (r.body!.model as { labels: Record<string, string> }).labels;
      models.push({ versionId: String(models.length + 1), labels });
      return uploaded(String(models.length));
    });
    await expect(registry.register(versionDoc(1), { modelJson: {}, weights })).rejects.toThrow(
      VertexUploadError,
    );
    down = false;
    await registry.register(versionDoc(2), { modelJson: {}, weights });
    expect(models.map((m) => m.labels.himas_version)).toEqual(['run_2026-11_a-r0001', 'run_2026-11_a-r0002']);
    // Mirrored now: nothing more to upload.
    expect(await registry.syncRun(versionDoc(1).runId)).toEqual([]);
  });

  test('a permanent error (403) is not retried', async () => {
    server.route('GET', /:listVersions$/, { json: { models: [] } });
    server.route(
      'POST',
      /\/models:upload$/,
      restError(403, 'PERMISSION_DENIED', 'aiplatform.models.upload denied'),
    );
    await expect(registry.register(versionDoc(7), { modelJson: {}, weights })).rejects.toThrow(
      /aiplatform.models.upload denied/,
    );
    expect(uploads()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});

describe('Vertex label values', () => {
  const VALUE = /^[a-z0-9_-]{0,63}$/;
  const KEY = /^[a-z][a-z0-9_-]{0,62}$/;

  test('are lower-case [a-z0-9_-], at most 63 characters; long values stay distinct', () => {
    expect(vertexLabelValue('Run.2026/ABC é')).toBe('run_2026_abc__');
    const a = vertexLabelValue(`${'x'.repeat(70)}-a`);
    const b = vertexLabelValue(`${'x'.repeat(70)}-b`);
    expect(a).toMatch(VALUE);
    expect(a).toHaveLength(63);
    expect(a).not.toBe(b);
  });

  test('ε keeps three significant digits without a dot; no guarantee is inf', () => {
    expect(epsilonLabel(48.812)).toBe('48_8');
    expect(epsilonLabel(0.123456)).toBe('0_123');
    expect(epsilonLabel(1e-7)).toBe('1e-7');
    expect(epsilonLabel(null)).toBe('inf');
  });

  test('every label of a version is valid', () => {
    const labels = vertexLabels(versionDoc(12));
    for (const [key, value] of Object.entries(labels)) {
      expect(key).toMatch(KEY);
      expect(value).toMatch(VALUE);
    }
  });
});
