import type { LayersModel } from '@tensorflow/tfjs';
import { z } from 'zod';
import { PrivacyGuaranteeSchema } from '../../schemas/privacy';
import { PreprocessorSchema, type Preprocessor } from '../core/data';
import { deserializeModel } from '../core/model';
import type { ModelArtifacts } from '../ports/model-registry';

/**
 * A HIMAS model is self-describing: model.json's `userDefinedMetadata.himas` carries the
 * preprocessor (feature order, imputation, standardisation) so `himas predict` or any TF.js runtime
 * can score raw first-24-hour features with nothing but the model folder.
 */
const HimasMetadataSchema = z.object({
  preprocessor: PreprocessorSchema,
  versionId: z.string().optional(),
  runId: z.string().optional(),
  round: z.number().optional(),
  /** The version's guarantees (the aggregator writes them), so a copied folder still states them. */
  privacy: z.array(PrivacyGuaranteeSchema).optional(),
  /**
   * Its calibration on the hospitals' test splits (DP-noised), added when a run folder's model is
   * written, so clinical decision support can state it from the folder alone.
   */
  calibration: z
    .object({
      observedExpectedRatio: z.number().nullable(),
      slope: z.number().nullable(),
      observedExpectedRatioInterval: z.tuple([z.number(), z.number()]).nullable(),
      slopeInterval: z.tuple([z.number(), z.number()]).nullable(),
      n: z.number(),
      siteIntercepts: z.boolean().optional(),
      /** Scored with this hospital's own intercept (himas predict --hospital). */
      scoredAt: z.string().optional(),
    })
    .nullable()
    .optional(),
});
export type HimasModelMetadata = z.infer<typeof HimasMetadataSchema>;

export function readHimasMetadata(modelJson: Record<string, unknown>): HimasModelMetadata {
  const metadata = (modelJson.userDefinedMetadata as Record<string, unknown> | undefined)?.himas;
  const parsed = HimasMetadataSchema.safeParse(metadata);
  if (!parsed.success) {
    throw new Error(
      `model.json has no valid HIMAS metadata (userDefinedMetadata.himas): ${parsed.error.issues[0]?.message ?? 'missing'}`,
    );
  }
  return parsed.data;
}

/** model.json with `calibration` added to its HIMAS metadata (a copy; the input is not changed). */
export function withCalibration(
  modelJson: Record<string, unknown>,
  calibration: Readonly<NonNullable<HimasModelMetadata['calibration']>> | null,
): Record<string, unknown> {
  const user = (modelJson.userDefinedMetadata ?? {}) as Record<string, unknown>;
  const himas = (user.himas ?? {}) as Record<string, unknown>;
  return { ...modelJson, userDefinedMetadata: { ...user, himas: { ...himas, calibration } } };
}

export async function loadHimasModel(
  artifacts: ModelArtifacts,
): Promise<{ model: LayersModel; preprocessor: Preprocessor; metadata: HimasModelMetadata }> {
  const metadata = readHimasMetadata(artifacts.modelJson);
  const model = await deserializeModel(artifacts.modelJson, artifacts.weights);
  return { model, preprocessor: metadata.preprocessor as Preprocessor, metadata };
}
