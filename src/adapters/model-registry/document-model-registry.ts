import { createHash } from 'node:crypto';
import { ModelVersionDocumentSchema, paths, type ModelVersionDocument } from '../../../schemas/documents';
import type { BlobStore } from '../../ports/blob-store';
import type { DocumentStore } from '../../ports/document-store';
import { DamagedBlobError, NotFoundError } from '../../ports/errors';
import type { ModelArtifacts, ModelRegistry } from '../../ports/model-registry';

/**
 * Model versions as a Firestore-shaped document (`models/{versionId}`) plus TensorFlow.js layers
 * files in the blob store (`models/<versionId>/model.json`, `weights.bin`). Works over any
 * DocumentStore and BlobStore: embedded files locally, Firestore and Cloud Storage in the cloud
 * (where a Vertex AI decorator also uploads each version).
 */
export class DocumentModelRegistry implements ModelRegistry {
  constructor(
    private readonly documents: DocumentStore,
    private readonly blobs: BlobStore,
  ) {}

  async register(doc: ModelVersionDocument, artifacts: ModelArtifacts) {
    const parsed = ModelVersionDocumentSchema.parse(doc);
    const existing = await this.get(parsed.versionId);
    if (existing) return { doc: existing, created: false };
    const sha256 = createHash('sha256').update(artifacts.weights).digest('hex');
    if (sha256 !== parsed.sha256)
      throw new Error(
        `model ${parsed.versionId}: weights checksum ${sha256} does not match the document's ${parsed.sha256}`,
      );
    // Files first, document last: a version whose document exists always has its files.
    await this.blobs.put(`${parsed.artifactPath}weights.bin`, artifacts.weights, {
      contentType: 'application/octet-stream',
    });
    await this.blobs.put(
      `${parsed.artifactPath}model.json`,
      Buffer.from(JSON.stringify(artifacts.modelJson)),
      { contentType: 'application/json' },
    );
    const created = await this.documents.create(paths.model(parsed.versionId), parsed);
    return { doc: created ? parsed : ((await this.get(parsed.versionId)) as ModelVersionDocument), created };
  }

  async get(versionId: string): Promise<ModelVersionDocument | undefined> {
    const data = await this.documents.get(paths.model(versionId));
    return data ? ModelVersionDocumentSchema.parse(data) : undefined;
  }

  async load(versionId: string): Promise<{ doc: ModelVersionDocument; artifacts: ModelArtifacts }> {
    const doc = await this.get(versionId);
    if (!doc) throw new NotFoundError('model version', versionId);
    const weightsPath = `${doc.artifactPath}weights.bin`;
    const weights = await this.blobs.get(weightsPath);
    const sha256 = createHash('sha256').update(weights).digest('hex');
    if (sha256 !== doc.sha256)
      throw new DamagedBlobError(
        weightsPath,
        this.blobs.locate?.(weightsPath) ?? weightsPath,
        `model ${versionId}: its weights' SHA-256 is ${sha256.slice(0, 12)}…, recorded ${doc.sha256.slice(0, 12)}…, ${weights.byteLength} bytes`,
      );
    const modelJson = JSON.parse(
      Buffer.from(await this.blobs.get(`${doc.artifactPath}model.json`)).toString('utf8'),
    ) as Record<string, unknown>;
    return { doc, artifacts: { modelJson, weights } };
  }

  async list(runId: string): Promise<ModelVersionDocument[]> {
    const all = await this.documents.list(paths.models());
    return all
      .map((s) => ModelVersionDocumentSchema.parse(s.data))
      .filter((doc) => doc.runId === runId)
      .sort((a, b) => a.round - b.round);
  }

  async annotate(
    versionId: string,
    patch: Partial<Pick<ModelVersionDocument, 'pooled' | 'halted'>>,
  ): Promise<void> {
    await this.documents.update(paths.model(versionId), patch);
  }
}
