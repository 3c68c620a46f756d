/**
 * Object storage for model updates and model artifacts. Paths are `/`-separated keys such as
 * `runs/<runId>/rounds/<round>/updates/<hospital>.bin`. Adapters: files under .himas/blobs, Cloud
 * Storage.
 */
export interface BlobInfo {
  path: string;
  size: number;
  /** Lower-case hex SHA-256 of the stored bytes. */
  sha256: string;
}

export interface BlobStore {
  /** Stores the bytes atomically (a reader never sees a partial object). */
  put(path: string, bytes: Uint8Array, options?: { contentType?: string }): Promise<BlobInfo>;
  /**
   * Stores the bytes only if nothing is stored at the path yet, atomically: of concurrent creates
   * of one path exactly one succeeds. Null when an object already exists (nothing is written).
   * Append-only records (a hospital's privacy ledger) rely on it.
   */
  create(path: string, bytes: Uint8Array, options?: { contentType?: string }): Promise<BlobInfo | null>;
  /** The stored bytes; throws NotFoundError when absent. */
  get(path: string): Promise<Uint8Array>;
  stat(path: string): Promise<BlobInfo | undefined>;
  /** Paths under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(path: string): Promise<void>;
  /** Where the object at `path` lives, for messages to an operator (a file path, a gs:// URL). */
  locate?(path: string): string;
  /**
   * A cheap identity of the object stored at `path` (no read of its bytes), undefined when there is
   * none: `id` changes whenever the object is replaced, altered or deleted and re-created (a file:
   * device, inode, size, mtime and ctime in ns), `changedAtMs` is when it last changed. Readers that
   * keep parsed copies (the privacy ledger) use it to notice any change; stores without one are
   * read in full every time.
   */
  fingerprint?(path: string): Promise<BlobFingerprint | undefined>;
}

export interface BlobFingerprint {
  id: string;
  changedAtMs: number;
}
