import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createModel,
  deserializeModel,
  getFlatWeights,
  initializeBackend,
  ModelFormatError,
  predictProbabilities,
  serializeModel,
  setFlatWeights,
} from '../../../../src/core/model';
import { syntheticCohort } from './synthetic-data';

beforeAll(async () => {
  await initializeBackend('auto');
});

/** As stored: model.json goes through JSON text, weights through bytes. */
function roundTripJson(modelJson: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(modelJson));
}

describe('serializeModel / deserializeModel', () => {
  it('gives a model with identical weights and predictions', async () => {
    const model = createModel({ kind: 'mlp', inputDim: 7, hiddenUnits: [6, 3] }, 11);
    const { modelJson, weights } = await serializeModel(model, { runId: 'run-1', round: 3 });
    const loaded = await deserializeModel(roundTripJson(modelJson), weights);
    expect(getFlatWeights(loaded)).toEqual(getFlatWeights(model));
    const data = syntheticCohort(50, 7, 1);
    expect(predictProbabilities(loaded, data.features, 50, 7)).toEqual(
      predictProbabilities(model, data.features, 50, 7),
    );
    model.dispose();
    loaded.dispose();
  });

  it('writes the standard layers-model layout with the metadata', async () => {
    const model = createModel({ kind: 'logistic', inputDim: 4 }, 1);
    const { modelJson, weights } = await serializeModel(model, { runId: 'run-1', round: 3 });
    expect(modelJson).toMatchObject({
      format: 'layers-model',
      generatedBy: expect.stringMatching(/^TensorFlow\.js tfjs-layers/),
      modelTopology: { class_name: 'Sequential', config: expect.any(Object) },
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: [
            { name: 'output/kernel', shape: [4, 1], dtype: 'float32' },
            { name: 'output/bias', shape: [1], dtype: 'float32' },
          ],
        },
      ],
      userDefinedMetadata: { runId: 'run-1', round: 3 },
    });
    expect(weights.byteLength).toBe(5 * 4);
    // Little-endian float32 in getWeights() order.
    expect(Array.from(new Float32Array(weights.slice().buffer))).toEqual(Array.from(getFlatWeights(model)));
    model.dispose();
  });

  it('loads from a folder the way tfjs-node file:// does (read model.json, resolve paths beside it)', async () => {
    const model = createModel({ kind: 'mlp', inputDim: 5, hiddenUnits: [4] }, 2);
    const { modelJson, weights } = await serializeModel(model);
    const dir = mkdtempSync(join(tmpdir(), 'himas-model-'));
    try {
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
      writeFileSync(join(dir, 'weights.bin'), weights);
      // The same steps as tfjs-node's NodeFileSystem.load, which cannot be installed here.
      const fileHandler: tf.io.IOHandler = {
        load: async () => {
          const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
          return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
            const buffers = manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p))));
            const joined = Buffer.concat(buffers);
            const data = joined.buffer.slice(
              joined.byteOffset,
              joined.byteOffset + joined.byteLength,
            ) as ArrayBuffer;
            return [tf.io.getWeightSpecs(manifest), data];
          });
        },
      };
      const loaded = await tf.loadLayersModel(fileHandler);
      expect(getFlatWeights(loaded)).toEqual(getFlatWeights(model));
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('round-trips a trained-looking model with dropout layers', async () => {
    const model = createModel({ kind: 'mlp', inputDim: 3, hiddenUnits: [4], dropout: 0.5 }, 5);
    setFlatWeights(
      model,
      getFlatWeights(model).map((v) => v * 2),
    );
    const { modelJson, weights } = await serializeModel(model);
    const loaded = await deserializeModel(roundTripJson(modelJson), weights);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dropout', 'Dense']);
    expect(getFlatWeights(loaded)).toEqual(getFlatWeights(model));
    model.dispose();
    loaded.dispose();
  });

  it('rejects metadata that JSON cannot hold', async () => {
    const model = createModel({ kind: 'logistic', inputDim: 2 }, 1);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(serializeModel(model, circular)).rejects.toThrow(/not JSON-serialisable/);
    model.dispose();
  });
});

describe('deserializeModel on bad files', () => {
  let modelJson: Record<string, unknown>;
  let weights: Uint8Array;

  beforeAll(async () => {
    const model = createModel({ kind: 'mlp', inputDim: 4, hiddenUnits: [3] }, 1);
    ({ modelJson, weights } = await serializeModel(model));
    model.dispose();
  });

  it('rejects JSON that is not a layers model, saying which field is wrong', async () => {
    await expect(deserializeModel('not json', weights)).rejects.toThrow(ModelFormatError);
    await expect(deserializeModel({ ...modelJson, format: 'graph-model' }, weights)).rejects.toThrow(
      /not a TensorFlow\.js layers model[\s\S]*format/,
    );
    const { weightsManifest: _omitted, ...withoutManifest } = modelJson;
    await expect(deserializeModel(withoutManifest, weights)).rejects.toThrow(/weightsManifest/);
  });

  it('rejects truncated or oversized weights before tfjs sees them', async () => {
    await expect(deserializeModel(modelJson, weights.subarray(0, weights.byteLength - 4))).rejects.toThrow(
      /weights hold 72 bytes but model\.json describes 76 \(4 tensors\): the weight file is truncated/,
    );
    await expect(deserializeModel(modelJson, new Uint8Array(weights.byteLength + 8))).rejects.toThrow(
      ModelFormatError,
    );
  });

  it('rejects a topology that does not match the weights, as a ModelFormatError', async () => {
    const json = roundTripJson(modelJson) as { weightsManifest: Array<{ weights: Array<{ name: string }> }> };
    json.weightsManifest[0].weights[0].name = 'someone_else/kernel';
    await expect(deserializeModel(json, weights)).rejects.toThrow(/do not form a loadable model/);
  });

  it('rejects a garbled topology as a ModelFormatError', async () => {
    const json = roundTripJson(modelJson) as { modelTopology: { class_name: string } };
    json.modelTopology.class_name = 'NoSuchModel';
    await expect(deserializeModel(json, weights)).rejects.toThrow(/do not form a loadable model/);
  });

  it('rejects NaN weights', async () => {
    const bad = weights.slice();
    new DataView(bad.buffer).setFloat32(0, NaN, true);
    await expect(deserializeModel(modelJson, bad)).rejects.toThrow(/NaN or infinite/);
  });

  it('leaks no tensors on failure', async () => {
    const before = tf.memory().numTensors;
    const bad = weights.slice();
    new DataView(bad.buffer).setFloat32(0, Infinity, true);
    await expect(deserializeModel(modelJson, bad)).rejects.toThrow(ModelFormatError);
    expect(tf.memory().numTensors).toBe(before);
  });
});
