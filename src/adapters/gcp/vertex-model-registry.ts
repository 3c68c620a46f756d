import { createHash } from 'node:crypto';
import type { ModelVersionDocument } from '../../../schemas/documents';
import type { ModelArtifacts, ModelRegistry } from '../../ports/model-registry';
import { GrpcStatus, googleErrorMessage, grpcCodeOf } from './grpc-status';
import { retryWithBackoff, type RetryPolicy } from './retry-with-backoff';

/**
 * ModelRegistry decorator that mirrors every model version into the Vertex AI Model Registry, so
 * analysts find HIMAS versions next to their other models: one parent model (`parentModelId`),
 * each HIMAS version a Vertex version of it, its artifact the version's Cloud Storage folder
 * (TensorFlow.js layers format) and labels naming the run, the round, the version and ε per unit.
 *
 * Order and failure policy: the inner registry (Firestore document + blobs) registers first, so
 * a Vertex outage never loses a version. Then `register` mirrors every version of the run that
 * Vertex lacks (one listing by the `himas_run` label), oldest first, each upload retried with
 * backoff on transient errors; what still fails is thrown as VertexUploadError naming the
 * versions. The aggregator then nacks, and its redelivery finds the stored version and closes the
 * round without registering again, so a version missed in an outage is uploaded by the run's next
 * `register`, or by `syncRun(runId)` for the last one. A retried upload first looks the version
 * up by its `himas_version` label, so an upload whose answer was lost is not made twice.
 *
 * Serving container: Vertex serves models from a container, and there is no prebuilt one for
 * TensorFlow.js layers files, so the image is configuration (`servingImageUri`, the operator's
 * own TF.js server); registering needs no deployment, which HIMAS never does.
 */
export interface VertexModelRegistryOptions {
  projectId: string;
  /** Vertex AI region, e.g. `europe-west4`. */
  region: string;
  /** Id of the parent model every version lives under, e.g. `himas-icu-mortality`. */
  parentModelId: string;
  /** Bucket of the blob store: the artifact of a version is `gs://<bucket>/<artifactPath>`. */
  bucket: string;
  /** Serving container image recorded with each version (see the header). */
  servingImageUri: string;
  retry?: RetryPolicy;
}

/** The part of `ModelServiceClient` (@google-cloud/aiplatform v1) this adapter calls. */
export interface VertexModelService {
  uploadModel(
    request: VertexUploadRequest,
  ): Promise<[{ promise(): Promise<[VertexUploadResponse, ...unknown[]]> }, ...unknown[]]>;
  listModelVersions(request: { name: string; filter?: string }): Promise<[VertexModel[], ...unknown[]]>;
}

export interface VertexModel {
  name?: string | null;
  versionId?: string | null;
  labels?: Record<string, string> | null;
}

export interface VertexUploadResponse {
  model?: string | null;
  modelVersionId?: string | null;
}

export interface VertexUploadRequest {
  parent: string;
  parentModel?: string;
  modelId?: string;
  model: {
    displayName: string;
    description: string;
    versionDescription: string;
    artifactUri: string;
    labels: Record<string, string>;
    containerSpec: { imageUri: string };
  };
}

export class VertexUploadError extends Error {
  constructor(
    readonly versionIds: readonly string[],
    cause: unknown,
  ) {
    super(
      `model version ${versionIds.join(', ')} is stored (Firestore and Cloud Storage) but its upload to the Vertex AI Model Registry failed: ${googleErrorMessage(cause)}; the run's next registered version (or syncRun) retries the upload`,
    );
    this.name = 'VertexUploadError';
  }
}

const VERSION_LABEL = 'himas_version';
const LABEL_MAX = 63;

/**
 * A Vertex label value: lower-case letters, digits, '_' and '-', at most 63 characters
 * (https://cloud.google.com/vertex-ai/docs/general/resource-labels). Anything else becomes '_';
 * a longer value keeps its start and ends with a hash of the whole, so two long values differ.
 */
export function vertexLabelValue(value: string): string {
  const clean = value.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  if (clean.length <= LABEL_MAX) return clean;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${clean.slice(0, LABEL_MAX - hash.length - 1)}-${hash}`;
}

/** ε with three significant digits as a label value (no '.' allowed: 48.8 → 48_8), ∞ as `inf`. */
export function epsilonLabel(epsilon: number | null): string {
  if (epsilon === null || !Number.isFinite(epsilon)) return 'inf';
  return vertexLabelValue(Number(epsilon.toPrecision(3)).toString());
}

/** The labels of a version (run, round, version, ε per unit). */
export function vertexLabels(doc: ModelVersionDocument): Record<string, string> {
  const labels: Record<string, string> = {
    himas_run: vertexLabelValue(doc.runId),
    himas_round: String(doc.round),
    [VERSION_LABEL]: vertexLabelValue(doc.versionId),
  };
  for (const guarantee of doc.privacy) labels[`epsilon_${guarantee.unit}`] = epsilonLabel(guarantee.epsilon);
  return labels;
}

const TRANSIENT = new Set<number>([4, 8, 10, 13, 14]); // DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE

export class VertexModelRegistry implements ModelRegistry {
  constructor(
    private readonly inner: ModelRegistry,
    private readonly vertex: VertexModelService,
    private readonly options: VertexModelRegistryOptions,
  ) {}

  async register(
    doc: ModelVersionDocument,
    artifacts: ModelArtifacts,
  ): Promise<{ doc: ModelVersionDocument; created: boolean }> {
    const registered = await this.inner.register(doc, artifacts);
    await this.syncRun(registered.doc.runId);
    return registered;
  }

  /**
   * Uploads every stored version of the run that the Vertex parent model lacks, oldest first, and
   * returns their ids; throws VertexUploadError naming the versions whose upload still failed.
   */
  async syncRun(runId: string): Promise<string[]> {
    const versions = await this.inner.list(runId);
    let mirrored: Set<string>;
    try {
      mirrored = await this.retrying(() => this.mirroredVersions(runId));
    } catch (error) {
      throw new VertexUploadError(
        versions.map((v) => v.versionId),
        error,
      );
    }
    const uploaded: string[] = [];
    const failed: { versionId: string; error: unknown }[] = [];
    for (const version of versions.filter((v) => !mirrored.has(vertexLabelValue(v.versionId)))) {
      try {
        await this.retrying((attempt) => this.upload(version, attempt));
        uploaded.push(version.versionId);
      } catch (error) {
        failed.push({ versionId: version.versionId, error });
      }
    }
    if (failed.length > 0)
      throw new VertexUploadError(
        failed.map((f) => f.versionId),
        failed[0].error,
      );
    return uploaded;
  }

  get(versionId: string) {
    return this.inner.get(versionId);
  }

  load(versionId: string) {
    return this.inner.load(versionId);
  }

  list(runId: string) {
    return this.inner.list(runId);
  }

  annotate(versionId: string, patch: Parameters<ModelRegistry['annotate']>[1]) {
    return this.inner.annotate(versionId, patch);
  }

  get parentModelName(): string {
    return `${this.location}/models/${this.options.parentModelId}`;
  }

  private get location(): string {
    return `projects/${this.options.projectId}/locations/${this.options.region}`;
  }

  private retrying<T>(call: (attempt: number) => Promise<T>): Promise<T> {
    return retryWithBackoff(call, (error) => TRANSIENT.has(grpcCodeOf(error) ?? -1), this.options.retry);
  }

  /** The `himas_version` labels of the run's versions under the parent model (none without it). */
  private async mirroredVersions(runId: string): Promise<Set<string>> {
    return new Set(
      (await this.listVersions(`labels.himas_run="${vertexLabelValue(runId)}"`)).map(
        (v) => v.labels?.[VERSION_LABEL] ?? '',
      ),
    );
  }

  /**
   * Uploads one version; the Vertex version id. A retry (attempt > 1) first looks for the version
   * by label: the previous attempt may have uploaded it and lost the answer.
   */
  private async upload(doc: ModelVersionDocument, attempt: number): Promise<string> {
    if (attempt > 1) {
      const label = vertexLabelValue(doc.versionId);
      const existing = (await this.listVersions(`labels.${VERSION_LABEL}="${label}"`)).find(
        (v) => v.labels?.[VERSION_LABEL] === label,
      );
      if (existing) return existing.versionId ?? '';
    }
    const model: VertexUploadRequest['model'] = {
      displayName: this.options.parentModelId,
      description: 'HIMAS federated ICU-mortality model (TensorFlow.js layers format)',
      versionDescription: describeVersion(doc),
      artifactUri: `gs://${this.options.bucket}/${doc.artifactPath}`,
      labels: vertexLabels(doc),
      containerSpec: { imageUri: this.options.servingImageUri },
    };
    try {
      return await this.runUpload({ parent: this.location, parentModel: this.parentModelName, model });
    } catch (error) {
      // The first version of all creates the parent model; a concurrent creator makes it exist.
      if (grpcCodeOf(error) !== GrpcStatus.NOT_FOUND) throw error;
      try {
        return await this.runUpload({ parent: this.location, modelId: this.options.parentModelId, model });
      } catch (createError) {
        if (grpcCodeOf(createError) !== GrpcStatus.ALREADY_EXISTS) throw createError;
        return await this.runUpload({ parent: this.location, parentModel: this.parentModelName, model });
      }
    }
  }

  private async runUpload(request: VertexUploadRequest): Promise<string> {
    const [operation] = await this.vertex.uploadModel(request);
    const [response] = await operation.promise();
    return response.modelVersionId ?? '';
  }

  private async listVersions(filter: string): Promise<VertexModel[]> {
    try {
      const [versions] = await this.vertex.listModelVersions({ name: this.parentModelName, filter });
      return versions;
    } catch (error) {
      if (grpcCodeOf(error) === GrpcStatus.NOT_FOUND) return []; // no parent model yet
      throw error;
    }
  }
}

function describeVersion(doc: ModelVersionDocument): string {
  const guarantees = doc.privacy
    .map((g) => `${g.unit}-level ε=${g.epsilon === null ? '∞' : g.epsilon.toPrecision(4)} at δ=${g.delta}`)
    .join('; ');
  return `HIMAS ${doc.versionId}: run ${doc.runId}, round ${doc.round}, ${doc.participants.length} hospital(s); ${guarantees || 'no privacy guarantee'}`;
}
