import { FieldPath, type Firestore, type SetOptions } from '@google-cloud/firestore';
import type { Transaction as FirestoreTransaction } from '@google-cloud/firestore';
import type { DocumentData, DocumentSnapshot, DocumentStore, Transaction } from '../../ports/document-store';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../ports/errors';
// Pure path rules shared with the embedded store (no DuckDB behind this import), so both adapters
// reject the same malformed paths with the same messages.
import { parseDocumentPath, validateCollectionPath } from '../embedded/document-paths';
import { decodeDocument, encodeDocument } from './firestore-values';
import { GrpcStatus, grpcCodeOf } from './grpc-status';

export interface FirestoreDocumentStoreOptions {
  /**
   * Attempts of a transaction before ConflictError (Firestore's default is 5). Contended
   * documents (the round lease, 20 concurrent increments in the contract test) need more.
   */
  maxTransactionAttempts?: number;
  /** Terminate the Firestore client on close (when the store owns it). */
  closeClient?: boolean;
}

/**
 * DocumentStore on Cloud Firestore (or its emulator). Port paths are Firestore document paths
 * 1:1. Values are stored as plain JSON (see firestore-values.ts). The port's top-level merge for
 * `set(merge)` and `update` maps to `mergeFields` / field-path updates of the top-level keys, so a
 * nested object in the patch replaces the stored one instead of being deep-merged.
 */
export class FirestoreDocumentStore implements DocumentStore {
  private readonly maxTransactionAttempts: number;

  constructor(
    readonly firestore: Firestore,
    private readonly options: FirestoreDocumentStoreOptions = {},
  ) {
    this.maxTransactionAttempts = options.maxTransactionAttempts ?? 25;
  }

  async get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined> {
    const snapshot = await this.ref(path).get();
    return snapshot.exists ? decodeDocument<T>(snapshot.data()!) : undefined;
  }

  async set(path: string, data: DocumentData, options?: { merge?: boolean }): Promise<void> {
    const ref = this.ref(path);
    const encoded = encodeDocument(data);
    await (options?.merge ? ref.set(encoded, topLevelMerge(encoded)) : ref.set(encoded));
  }

  async create(path: string, data: DocumentData): Promise<boolean> {
    const ref = this.ref(path);
    try {
      await ref.create(encodeDocument(data));
      return true;
    } catch (error) {
      if (grpcCodeOf(error) === GrpcStatus.ALREADY_EXISTS) return false;
      throw error;
    }
  }

  async update(path: string, patch: DocumentData): Promise<void> {
    const ref = this.ref(path);
    const [field, value, ...more] = topLevelUpdate(path, encodeDocument(patch));
    try {
      await ref.update(field, value, ...more);
    } catch (error) {
      if (grpcCodeOf(error) === GrpcStatus.NOT_FOUND) throw new NotFoundError('document', path);
      throw error;
    }
  }

  async delete(path: string): Promise<void> {
    await this.ref(path).delete();
  }

  async list<T extends DocumentData = DocumentData>(collectionPath: string): Promise<DocumentSnapshot<T>[]> {
    const query = this.firestore
      .collection(validateCollectionPath(collectionPath))
      .orderBy(FieldPath.documentId());
    const snapshot = await query.get();
    return snapshot.docs.map((doc) => ({
      id: doc.id,
      path: `${collectionPath}/${doc.id}`,
      data: decodeDocument<T>(doc.data()),
    }));
  }

  async count(collectionPath: string): Promise<number> {
    const snapshot = await this.firestore.collection(validateCollectionPath(collectionPath)).count().get();
    return snapshot.data().count;
  }

  /**
   * Firestore retries the whole function on contention (ABORTED) with backoff, so `fn` may run
   * more than once; its writes are buffered by the client and committed together.
   */
  async runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
    let attempt: PortTransaction | undefined;
    try {
      return await this.firestore.runTransaction(
        async (tx) => {
          attempt = new PortTransaction(this, tx);
          return fn(attempt);
        },
        { maxAttempts: this.maxTransactionAttempts },
      );
    } catch (error) {
      throw translateCommitError(error, attempt, this.maxTransactionAttempts);
    }
  }

  async close(): Promise<void> {
    if (this.options.closeClient) await this.firestore.terminate();
  }

  ref(path: string) {
    return this.firestore.doc(parseDocumentPath(path).path);
  }
}

/** The port's Transaction over one attempt of a Firestore transaction. */
class PortTransaction implements Transaction {
  /** Paths of create/update writes, to name the document a failed commit was about. */
  readonly creates: string[] = [];
  readonly updates: string[] = [];

  constructor(
    private readonly store: FirestoreDocumentStore,
    private readonly tx: FirestoreTransaction,
  ) {}

  async get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined> {
    // Firestore itself rejects a read after a write ("reads before writes"), as the port requires.
    const snapshot = await this.tx.get(this.store.ref(path));
    return snapshot.exists ? decodeDocument<T>(snapshot.data()!) : undefined;
  }

  set(path: string, data: DocumentData, options?: { merge?: boolean }): void {
    const encoded = encodeDocument(data);
    const ref = this.store.ref(path);
    if (options?.merge) this.tx.set(ref, encoded, topLevelMerge(encoded));
    else this.tx.set(ref, encoded);
  }

  create(path: string, data: DocumentData): void {
    this.tx.create(this.store.ref(path), encodeDocument(data));
    this.creates.push(path);
  }

  update(path: string, patch: DocumentData): void {
    const [field, value, ...more] = topLevelUpdate(path, encodeDocument(patch));
    this.tx.update(this.store.ref(path), field, value, ...more);
    this.updates.push(path);
  }

  delete(path: string): void {
    this.tx.delete(this.store.ref(path));
  }
}

/** `mergeFields` of the top-level keys (FieldPath, so a key containing '.' is one field). */
function topLevelMerge(data: DocumentData): SetOptions {
  const keys = Object.keys(data);
  // Firestore needs at least one merge field; merging nothing still creates a missing document.
  return keys.length === 0 ? { merge: true } : { mergeFields: keys.map((key) => new FieldPath(key)) };
}

/** Alternating FieldPath/value arguments for Firestore's variadic `update`. */
function topLevelUpdate(path: string, patch: DocumentData): [FieldPath, unknown, ...unknown[]] {
  const keys = Object.keys(patch);
  if (keys.length === 0) {
    // Firestore cannot express "fail if missing, change nothing" as an update.
    throw new TypeError(`update of ${path} needs at least one field (Firestore rejects an empty update)`);
  }
  const args: unknown[] = keys.flatMap((key) => [new FieldPath(key), patch[key]]);
  return args as [FieldPath, unknown, ...unknown[]];
}

/**
 * Maps the gRPC error of a failed commit to the port's errors. The message format differs between
 * Firestore and its emulator, so the document is taken from the transaction's own writes.
 */
function translateCommitError(error: unknown, tx: PortTransaction | undefined, attempts: number): unknown {
  const code = grpcCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const pick = (paths: string[]) =>
    paths.find((path) => message.includes(path.split('/').pop()!)) ?? paths[0] ?? '(unknown document)';
  if (code === GrpcStatus.ALREADY_EXISTS) return new AlreadyExistsError(pick(tx?.creates ?? []));
  if (code === GrpcStatus.NOT_FOUND) return new NotFoundError('document', pick(tx?.updates ?? []));
  if (code === GrpcStatus.ABORTED) {
    return new ConflictError(`transaction gave up after ${attempts} attempts on contention: ${message}`);
  }
  return error;
}
