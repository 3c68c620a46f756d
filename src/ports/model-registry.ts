import type { ModelVersionDocument } from '../../schemas/documents';

/** A model version's files in TensorFlow.js layers format: model.json and weights.bin. */
export interface ModelArtifacts {
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

/**
 * Versions of the global model. Adapters: a Firestore-shaped document plus blobs (embedded and
 * Firestore + Cloud Storage), decorated in the cloud by the Vertex AI Model Registry upload.
 */
export interface ModelRegistry {
  /**
   * Stores the artifacts, then the version document. Idempotent: when the version already exists
   * nothing is overwritten and the stored document is returned with `created: false`.
   */
  register(
    doc: ModelVersionDocument,
    artifacts: ModelArtifacts,
  ): Promise<{ doc: ModelVersionDocument; created: boolean }>;
  get(versionId: string): Promise<ModelVersionDocument | undefined>;
  /** The version document and its artifacts (checksum verified); NotFoundError when absent. */
  load(versionId: string): Promise<{ doc: ModelVersionDocument; artifacts: ModelArtifacts }>;
  /** Versions of a run, oldest first. */
  list(runId: string): Promise<ModelVersionDocument[]>;
  /** Merges fields into a version document (pooled metrics, the halted flag). */
  annotate(versionId: string, patch: Partial<Pick<ModelVersionDocument, 'pooled' | 'halted'>>): Promise<void>;
}
