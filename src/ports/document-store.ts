/**
 * A Firestore-shaped document store. Paths alternate collection/document segments exactly as in
 * Firestore: `runs/{runId}`, `runs/{runId}/rounds/{round}`. Documents are JSON objects.
 *
 * Adapters: embedded (DuckDB file under .himas/) and Firestore.
 */
export type DocumentData = Record<string, unknown>;

export interface DocumentSnapshot<T extends DocumentData = DocumentData> {
  /** The last path segment. */
  id: string;
  path: string;
  data: T;
}

export interface Transaction {
  get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined>;
  /** Replaces the document (or merges top-level fields when `merge` is set). */
  set(path: string, data: DocumentData, options?: { merge?: boolean }): void;
  /** Creates the document; the whole transaction fails with AlreadyExistsError if it exists. */
  create(path: string, data: DocumentData): void;
  /** Merges top-level fields into an existing document; fails with NotFoundError if absent. */
  update(path: string, patch: DocumentData): void;
  delete(path: string): void;
}

export interface DocumentStore {
  get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined>;
  /**
   * The document as `parse` makes it, undefined when absent. A store that keeps documents' text
   * (the embedded one) reuses the result of the same `parse` while the stored text is unchanged,
   * so `parse` must be pure and return a frozen value. Optional: callers fall back to `get`.
   */
  getParsed?<T>(path: string, parse: (data: DocumentData) => T): Promise<T | undefined>;
  set(path: string, data: DocumentData, options?: { merge?: boolean }): Promise<void>;
  /**
   * Creates the document if it does not exist. Returns false (and changes nothing) when it does:
   * the idempotent write behind receipts and model versions.
   */
  create(path: string, data: DocumentData): Promise<boolean>;
  /** Merges top-level fields into an existing document; throws NotFoundError if absent. */
  update(path: string, patch: DocumentData): Promise<void>;
  delete(path: string): Promise<void>;
  /** The documents directly inside a collection (`runs/r1/rounds`), ordered by id. */
  list<T extends DocumentData = DocumentData>(collectionPath: string): Promise<DocumentSnapshot<T>[]>;
  /**
   * How many documents a collection holds, counted by the store (a Firestore aggregation query):
   * cheap enough to ask on every event, where listing would read every document.
   */
  count(collectionPath: string): Promise<number>;
  /**
   * Runs `fn` atomically: reads see one consistent state and writes apply together or not at all.
   * Reads must come before writes (as in Firestore). Retried on conflict; ConflictError when the
   * retries run out.
   */
  runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}
