import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelVersionDocument } from '../../../schemas/documents';
import { TOPICS } from '../../../schemas/events';
import { TrainingConfigSchema } from '../../../schemas/training-config';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { computeEpsilon, gaussianEvent, poissonSampledEvent } from '../../../src/core/privacy';
import { NotFoundError } from '../../../src/ports/errors';
import type { OutgoingMessage } from '../../../src/ports/event-bus';
import { decodeDelivery, makeEvent, publishEvent } from '../../../src/services/event-publishing';
import {
  describeGuarantee,
  hospitalLevelGuarantee,
  roundPrivacyEvent,
} from '../../../src/services/privacy-guarantee';
import { bytesFromWeights, weightsFromBytes } from '../../../src/services/weights-bytes';

describe('weights-bytes', () => {
  it('round-trips float32 weights, including a view into a larger buffer', () => {
    const backing = new Float32Array([9, 1.5, -2.25, 3e-8, 7, 9]);
    const view = backing.subarray(1, 5);
    const bytes = bytesFromWeights(view);
    expect(bytes.byteLength).toBe(16);
    expect(Array.from(weightsFromBytes(bytes))).toEqual(Array.from(view));
  });

  it('reads from an unaligned byte offset and copies (no aliasing)', () => {
    const raw = new Uint8Array(1 + 8);
    raw.set(bytesFromWeights(new Float32Array([0.5, -4])), 1);
    const weights = weightsFromBytes(raw.subarray(1));
    expect(Array.from(weights)).toEqual([0.5, -4]);
    raw.fill(0);
    expect(Array.from(weights)).toEqual([0.5, -4]);
  });

  it('rejects a byte length that is not a whole number of floats', () => {
    expect(() => weightsFromBytes(new Uint8Array(10))).toThrow(
      'weights.bin has 10 bytes, not a whole number of float32 values',
    );
  });
});

describe('event-publishing', () => {
  const time = new Date('2025-02-03T04:05:06.000Z');

  it('builds a validated envelope and rejects bad data with the schema error', () => {
    const event = makeEvent('round.failed', {
      id: 'round.failed:r:1',
      runId: 'r',
      round: 1,
      time,
      data: { reason: 'no quorum', received: ['h1'] },
    });
    expect(event).toEqual({
      type: 'round.failed',
      specVersion: '1.1',
      id: 'round.failed:r:1',
      runId: 'r',
      round: 1,
      time: '2025-02-03T04:05:06.000Z',
      data: { reason: 'no quorum', received: ['h1'] },
    });
    expect(() =>
      makeEvent('round.failed', {
        id: 'x',
        runId: 'bad run id',
        round: 1,
        time,
        data: { reason: 'r', received: [] },
      }),
    ).toThrow(/runId/);
  });

  it('publishes on the topic of the type with filtering attributes', async () => {
    const sent: Array<{ topic: string; message: OutgoingMessage }> = [];
    const bus = {
      publish: async (topic: string, message: OutgoingMessage) => (sent.push({ topic, message }), 'm1'),
    };
    const event = makeEvent('round.deadline', {
      id: 'round.deadline:r:2',
      runId: 'r',
      round: 2,
      time,
      data: { deadline: time.toISOString() },
    });
    await expect(publishEvent(bus, event)).resolves.toBe('m1');
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(TOPICS.rounds);
    expect(sent[0].message.attributes).toEqual({
      type: 'round.deadline',
      runId: 'r',
      round: '2',
      eventId: 'round.deadline:r:2',
    });
    expect(decodeDelivery({ data: sent[0].message.data })).toEqual({ ok: true, event });
  });

  it('decodes bad messages into reasons instead of throwing', () => {
    expect(decodeDelivery({ data: '' })).toEqual({ ok: false, reason: 'message is not JSON: ' });
    const longGarbage = `<${'x'.repeat(200)}`;
    const r1 = decodeDelivery({ data: longGarbage });
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.reason).toBe(`message is not JSON: ${longGarbage.slice(0, 80)}`);
    const r2 = decodeDelivery({ data: JSON.stringify({ type: 'no.such.type' }) });
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.reason).toMatch(/^malformed event at 'type'/);
    const r3 = decodeDelivery({
      data: JSON.stringify({
        type: 'round.deadline',
        specVersion: '1.0',
        id: 'x',
        runId: 'r',
        round: 1,
        time: time.toISOString(),
        data: { deadline: time.toISOString() },
        extra: true,
      }),
    });
    expect(r3.ok).toBe(false);
  });
});

describe('privacy-guarantee', () => {
  const config = (over: object) => TrainingConfigSchema.parse(over);

  it('records a sampled Gaussian per round, with z = 0 for plain FedAvg', () => {
    expect(roundPrivacyEvent(config({ noiseMultiplier: 1.5 }), 2, 4)).toEqual({
      kind: 'poisson-sampled',
      samplingProbability: 0.5,
      event: { kind: 'gaussian', noiseMultiplier: 1.5 },
    });
    expect(roundPrivacyEvent(config({ aggregation: 'fedavg' }), 3, 3)).toEqual({
      kind: 'poisson-sampled',
      samplingProbability: 1,
      event: { kind: 'gaussian', noiseMultiplier: 0 },
    });
  });

  it('recomputes ε from the ledger (ε = 0 before any round, ∞ as null without noise)', () => {
    const noisy = config({ noiseMultiplier: 1.1, delta: 1e-5 });
    expect(hospitalLevelGuarantee(noisy, [], 1)).toMatchObject({ epsilon: 0, order: null, steps: 0 });
    const ledger = [roundPrivacyEvent(noisy, 3, 3), roundPrivacyEvent(noisy, 3, 3)];
    const g = hospitalLevelGuarantee(noisy, ledger, 1);
    const expected = computeEpsilon(
      {
        kind: 'composed',
        events: [poissonSampledEvent(1, gaussianEvent(1.1)), poissonSampledEvent(1, gaussianEvent(1.1))],
      },
      1e-5,
    );
    expect(g.epsilon).toBeCloseTo(expected.epsilon, 10);
    expect(g).toMatchObject({
      unit: 'hospital',
      steps: 2,
      noiseMultiplier: 1.1,
      delta: 1e-5,
      budgetEpsilon: null,
    });
    expect(describeGuarantee(g)).toMatch(/^hospital-level ε = \d+\.\d{3}, δ = 0.00001 after 2 round\(s\)/);

    const clipOnly = config({});
    const none = hospitalLevelGuarantee(clipOnly, [roundPrivacyEvent(clipOnly, 3, 3)], 1);
    expect(none.epsilon).toBeNull();
    expect(none.order).toBeNull();
    expect(describeGuarantee(none)).toContain('ε = ∞ (no noise: no differential-privacy guarantee)');
  });
});

describe('DocumentModelRegistry', () => {
  let home: string;
  let stack: EmbeddedStack;
  let registry: DocumentModelRegistry;
  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'himas-registry-'));
    stack = await openEmbeddedStack(home);
    registry = new DocumentModelRegistry(stack.documents, stack.blobs);
  });
  afterEach(async () => {
    await stack.close();
    rmSync(home, { recursive: true, force: true });
  });

  const weights = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const doc = (versionId: string, runId: string, round: number, bytes = weights): ModelVersionDocument => ({
    versionId,
    runId,
    round,
    parentVersionId: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    artifactPath: `models/${versionId}/`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    numParameters: 2,
    modelSpec: { kind: 'logistic', inputDim: 2, hiddenUnits: [] },
    featureNames: ['a', 'b'],
    participants: [],
    privacy: [],
    hospitalPrivacy: [],
    pooled: null,
    halted: false,
  });

  it('registers once and loads the verified artifacts', async () => {
    const first = await registry.register(doc('r-r0000', 'r', 0), {
      modelJson: { format: 'layers-model' },
      weights,
    });
    expect(first.created).toBe(true);
    const again = await registry.register(
      { ...doc('r-r0000', 'r', 0), featureNames: ['changed'] },
      {
        modelJson: { other: true },
        weights,
      },
    );
    expect(again).toEqual({ doc: first.doc, created: false });
    const loaded = await registry.load('r-r0000');
    expect(loaded.doc).toEqual(first.doc);
    expect(loaded.artifacts.modelJson).toEqual({ format: 'layers-model' });
    expect(Array.from(loaded.artifacts.weights)).toEqual(Array.from(weights));
  });

  it('refuses weights that do not match the document checksum, and detects a corrupt artifact', async () => {
    await expect(
      registry.register(doc('r-r0000', 'r', 0, new Uint8Array(8)), { modelJson: {}, weights }),
    ).rejects.toThrow(/model r-r0000: weights checksum [0-9a-f]{64} does not match the document's/);
    expect(await registry.get('r-r0000')).toBeUndefined();

    await registry.register(doc('r-r0001', 'r', 1), { modelJson: {}, weights });
    await stack.blobs.put('models/r-r0001/weights.bin', new Uint8Array(8));
    await expect(registry.load('r-r0001')).rejects.toThrow(
      /weights\.bin is damaged \(model r-r0001: its weights' SHA-256 is [0-9a-f]{12}…, recorded [0-9a-f]{12}…, 8 bytes\); restore it from a backup/,
    );
  });

  it('raises NotFoundError for an unknown version, lists a run oldest first and annotates', async () => {
    await expect(registry.load('missing')).rejects.toBeInstanceOf(NotFoundError);
    await registry.register(doc('a-r0002', 'a', 2), { modelJson: {}, weights });
    await registry.register(doc('b-r0001', 'b', 1), { modelJson: {}, weights });
    await registry.register(doc('a-r0000', 'a', 0), { modelJson: {}, weights });
    await registry.register(doc('a-r0001', 'a', 1), { modelJson: {}, weights });
    expect((await registry.list('a')).map((d) => d.versionId)).toEqual(['a-r0000', 'a-r0001', 'a-r0002']);
    await registry.annotate('a-r0001', { halted: true });
    expect((await registry.get('a-r0001'))!.halted).toBe(true);
    expect((await registry.get('a-r0002'))!.halted).toBe(false);
  });
});
