import { z } from 'zod';

/**
 * The parts of a TensorFlow.js layers-format model.json that loading relies on
 * (tfjs-core io/types.ts ModelJSON). Unknown fields pass through: tfjs and the Keras converter add
 * their own (generatedBy, convertedBy, trainingConfig, signature).
 */
const quantizationSchema = z.looseObject({ dtype: z.enum(['uint8', 'uint16', 'float16']) });

const weightSpecSchema = z.looseObject({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32', 'bool']),
  quantization: quantizationSchema.optional(),
});

const layersTopologySchema = z.union([
  // Saved by tfjs-layers: { class_name, config, keras_version, backend }.
  z.looseObject({ class_name: z.string(), config: z.unknown() }),
  // Converted from Keras: the same wrapped in model_config.
  z.looseObject({ model_config: z.looseObject({ class_name: z.string(), config: z.unknown() }) }),
]);

export const layersModelJsonSchema = z.looseObject({
  format: z.literal('layers-model'),
  modelTopology: layersTopologySchema,
  weightsManifest: z
    .array(z.looseObject({ paths: z.array(z.string()).min(1), weights: z.array(weightSpecSchema) }))
    .min(1),
  userDefinedMetadata: z.record(z.string(), z.unknown()).optional(),
});

export type LayersModelJson = z.infer<typeof layersModelJsonSchema>;
export type WeightSpec = z.infer<typeof weightSpecSchema>;

const BYTES_PER_ELEMENT = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 } as const;

/** Bytes the weight file must hold for these specs (quantised weights are stored at their quantised width). */
export function expectedWeightBytes(specs: readonly WeightSpec[]): number {
  let bytes = 0;
  for (const spec of specs) {
    const elements = spec.shape.reduce((a, b) => a * b, 1);
    bytes += elements * BYTES_PER_ELEMENT[spec.quantization?.dtype ?? spec.dtype];
  }
  return bytes;
}
