import { createHash } from 'node:crypto';
import type { Bucket, Storage } from '@google-cloud/storage';
import type { BlobInfo, BlobStore } from '../../ports/blob-store';
import { NotFoundError } from '../../ports/errors';
// Pure path rules shared with the file store, so both adapters accept and reject the same paths.
import { validateBlobPath } from '../embedded/file-blob-store';

export interface GcsBlobStoreOptions {
  /**
   * Objects at least this large go up as resumable uploads (a session that survives a dropped
   * connection); smaller ones in one multipart request, which is faster. Default 8 MiB.
   */
  resumableThresholdBytes?: number;
}

/** Custom metadata key holding the hex SHA-256 of the object (Cloud Storage keeps MD5/CRC32C only). */
export const SHA256_METADATA_KEY = 'sha256';

/**
 * BlobStore on a Cloud Storage bucket; blob paths are object names. Uploads are checked end to
 * end with CRC32C (the client compares its own checksum with the one the service computed and
 * deletes a corrupt object), and the SHA-256 the port reports is stored as custom metadata, so
 * `stat` answers from metadata without downloading. Objects are replaced atomically by Cloud
 * Storage itself: a reader sees the old generation or the new one.
 */
export class GcsBlobStore implements BlobStore {
  readonly bucket: Bucket;
  private readonly resumableThresholdBytes: number;

  constructor(storage: Storage, bucketName: string, options: GcsBlobStoreOptions = {}) {
    this.bucket = storage.bucket(bucketName);
    this.resumableThresholdBytes = options.resumableThresholdBytes ?? 8 * 1024 * 1024;
  }

  async put(path: string, bytes: Uint8Array, options?: { contentType?: string }): Promise<BlobInfo> {
    validateBlobPath(path);
    const sha256 = sha256Hex(bytes);
    await this.bucket.file(path).save(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      resumable: bytes.byteLength >= this.resumableThresholdBytes,
      validation: 'crc32c',
      contentType: options?.contentType ?? 'application/octet-stream',
      metadata: { metadata: { [SHA256_METADATA_KEY]: sha256 } },
    });
    return { path, size: bytes.byteLength, sha256 };
  }

  /** put with the precondition ifGenerationMatch = 0: the service refuses (412) if the object exists. */
  async create(
    path: string,
    bytes: Uint8Array,
    options?: { contentType?: string },
  ): Promise<BlobInfo | null> {
    validateBlobPath(path);
    const sha256 = sha256Hex(bytes);
    try {
      await this.bucket.file(path).save(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        resumable: false,
        validation: 'crc32c',
        contentType: options?.contentType ?? 'application/octet-stream',
        metadata: { metadata: { [SHA256_METADATA_KEY]: sha256 } },
        preconditionOpts: { ifGenerationMatch: 0 },
      });
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 412) return null;
      throw error;
    }
    return { path, size: bytes.byteLength, sha256 };
  }

  async get(path: string): Promise<Uint8Array> {
    validateBlobPath(path);
    try {
      const [contents] = await this.bucket.file(path).download({ validation: 'crc32c' });
      return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError('blob', path);
      throw error;
    }
  }

  async stat(path: string): Promise<BlobInfo | undefined> {
    validateBlobPath(path);
    let metadata;
    try {
      [metadata] = await this.bucket.file(path).getMetadata();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const stored = metadata.metadata?.[SHA256_METADATA_KEY];
    // An object written by something else (gsutil, the console) has no sha256: hash its bytes.
    const sha256 = typeof stored === 'string' ? stored : sha256Hex(await this.get(path));
    return { path, size: Number(metadata.size ?? 0), sha256 };
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') validateBlobPath(prefix, { allowTrailingSlash: true });
    const [files] = await this.bucket.getFiles({ prefix, autoPaginate: true });
    // The service lists in UTF-8 byte order already; sorting keeps the port's promise explicit.
    return files.map((file) => file.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    validateBlobPath(path);
    await this.bucket.file(path).delete({ ignoreNotFound: true });
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 404;
}
