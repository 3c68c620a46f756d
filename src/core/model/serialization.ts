import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { getFlatWeights } from './flat-weights';
import { type WeightSpec, expectedWeightBytes, layersModelJsonSchema } from './model-json-schema';

/** The weight file's name inside a model folder, as model.json's weightsManifest refers to it. */
export const WEIGHTS_FILE_NAME = 'weights.bin';

/**
 * A model in TensorFlow.js layers format, without touching a filesystem: the caller stores
 * `JSON.stringify(modelJson)` as model.json and `weights` as weights.bin in one folder, and any
 * tf.loadLayersModel (file://, http(s)://, gs:// via a URL) can load that folder.
 */
export interface SerializedModel {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

/** Raised when stored model files cannot be turned back into a model; the message says why. */
export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

/**
 * Serialises architecture and weights (not optimizer state) through model.save with a pass-through
 * handler, then lays them out as tfjs-node's file:// handler does: one weights group, one file.
 */
export async function serializeModel(
  model: tf.LayersModel,
  metadata?: Record<string, unknown>,
): Promise<SerializedModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      // dateSaved is required by the type but unused here; the caller's store records when it wrote.
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || artifacts.weightData === undefined) {
    throw new Error(`model '${model.name}' produced no topology or weights when saved`);
  }
  // tfjs 4.22 may hand weights over as several buffers; join them into the single weights.bin.
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_FILE_NAME], weights: artifacts.weightSpecs }],
  };
  if (metadata !== undefined) modelJson.userDefinedMetadata = toJsonObject(metadata);
  return { modelJson, weights };
}

/**
 * Loads a model from the two stored files. The JSON is checked with zod and the weight file's size
 * against the manifest before tfjs sees them, and tfjs's own failures are rewrapped, so a corrupt,
 * truncated or mismatched file is one clear ModelFormatError rather than a stack trace from inside
 * tfjs-layers. Rejects non-finite weights: a NaN model must not be served or aggregated.
 */
export async function deserializeModel(modelJson: unknown, weights: Uint8Array): Promise<tf.LayersModel> {
  const parsed = layersModelJsonSchema.safeParse(modelJson);
  if (!parsed.success) {
    throw new ModelFormatError(
      `model.json is not a TensorFlow.js layers model: ${z.prettifyError(parsed.error)}`,
    );
  }
  const json = parsed.data;
  const weightSpecs: WeightSpec[] = json.weightsManifest.flatMap((group) => group.weights);
  const expectedBytes = expectedWeightBytes(weightSpecs);
  if (weights.byteLength !== expectedBytes) {
    throw new ModelFormatError(
      `weights hold ${weights.byteLength} bytes but model.json describes ${expectedBytes} ` +
        `(${weightSpecs.length} tensors): the weight file is truncated or belongs to another model`,
    );
  }

  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
        convertedBy: typeof json.convertedBy === 'string' ? json.convertedBy : undefined,
        weightSpecs: weightSpecs as tf.io.WeightsManifestEntry[],
        // slice() copies into an ArrayBuffer of exactly this length (the view may share a larger one).
        weightData: weights.slice().buffer,
        userDefinedMetadata: json.userDefinedMetadata,
      }),
    );
  } catch (e) {
    throw new ModelFormatError(
      `model.json and its weights do not form a loadable model: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!getFlatWeights(model).every(Number.isFinite)) {
    model.dispose();
    throw new ModelFormatError('the model loaded but some weights are NaN or infinite');
  }
  return model;
}

/** Metadata goes into model.json, so it must survive JSON; fail here rather than store a lossy copy. */
function toJsonObject(metadata: Record<string, unknown>): Record<string, unknown> {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(metadata));
  } catch (e) {
    throw new TypeError(
      `model metadata is not JSON-serialisable: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new TypeError('model metadata must be a plain JSON object');
  }
  return copy as Record<string, unknown>;
}
