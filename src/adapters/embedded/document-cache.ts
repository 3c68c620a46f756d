import type { DocumentPath } from './document-paths';

/** Bounds of what one database's cache holds; beyond them it forgets the least recently used. */
export interface DocumentCacheLimits {
  /** Documents (or known absences) remembered. */
  maxEntries: number;
  /** Characters of JSON text remembered, over all documents. */
  maxChars: number;
  /** Ids remembered over all collections known in full. */
  maxCollectionIds: number;
  /** A collection with more ids than this is not held in full (its reads stay point queries). */
  maxIdsPerCollection: number;
}

export const DEFAULT_DOCUMENT_CACHE_LIMITS: DocumentCacheLimits = {
  maxEntries: 50_000,
  maxChars: 64 * 2 ** 20,
  maxCollectionIds: 200_000,
  maxIdsPerCollection: 20_000,
};

/** Collections found too large to hold in full, remembered so that their size is not read again. */
const MAX_LARGE_COLLECTIONS = 1000;

/**
 * What the embedded database's `documents` table holds, as far as this process has seen it: a
 * document's JSON text, "known absent", and the full id set of some collections (so a count, or a
 * create of an id not in it, needs no statement). DuckDB answers a point query in about a
 * millisecond and one process holds the file for writing (its file lock), so the committed state
 * can be served from memory: every write to the table goes through EmbeddedDocumentStore, which
 * tells this cache once the write has committed (`written`), under the database's lock.
 *
 * Reads from the database are remembered only under the same lock (`remember`), so an older read
 * can never overwrite a newer commit. Texts are kept as JSON and parsed afresh by the store, so no
 * caller holds a reference into the cache.
 */
export class DocumentCache {
  // Map iteration order is insertion order: re-inserting on use makes the first key the least recent.
  private readonly texts = new Map<string, string | null>();
  private readonly collections = new Map<string, Set<string>>();
  private readonly large = new Set<string>();
  private chars = 0;
  private collectionIds = 0;

  constructor(private readonly limits: DocumentCacheLimits = DEFAULT_DOCUMENT_CACHE_LIMITS) {}

  /** The committed JSON text, null when the document is known not to exist, undefined when unknown. */
  lookup(target: DocumentPath): string | null | undefined {
    const text = this.texts.get(target.path);
    if (text !== undefined) {
      this.texts.delete(target.path);
      this.texts.set(target.path, text);
      return text;
    }
    const ids = this.collections.get(target.parentCollection);
    if (ids !== undefined) {
      this.touchCollection(target.parentCollection, ids);
      return ids.has(target.id) ? undefined : null;
    }
    return undefined;
  }

  /** The ids of a collection known in full, or undefined. The caller must not change the set. */
  collectionIdsOf(collection: string): ReadonlySet<string> | undefined {
    const ids = this.collections.get(collection);
    if (ids !== undefined) this.touchCollection(collection, ids);
    return ids;
  }

  /** What a read of the committed state returned (call holding the database's lock). */
  remember(target: DocumentPath, text: string | null): void {
    this.put(target.path, text);
  }

  /** Whether loading the collection's ids would let the cache answer for it (not known, not too large). */
  worthLoading(collection: string): boolean {
    return !this.collections.has(collection) && !this.large.has(collection);
  }

  /** The most ids worth reading when loading a collection: one more says it is too large. */
  get idsPerCollectionLimit(): number {
    return this.limits.maxIdsPerCollection;
  }

  /** A collection's full id set, as a read of the committed state returned it (holding the lock). */
  rememberCollection(collection: string, ids: Iterable<string>): void {
    const set = new Set(ids);
    this.dropCollection(collection);
    if (set.size > this.limits.maxIdsPerCollection || set.size > this.limits.maxCollectionIds) {
      if (this.large.size >= MAX_LARGE_COLLECTIONS) this.large.clear();
      this.large.add(collection);
      return;
    }
    this.large.delete(collection);
    this.collections.set(collection, set);
    this.collectionIds += set.size;
    while (this.collectionIds > this.limits.maxCollectionIds) {
      const oldest = this.collections.keys().next().value as string;
      this.dropCollection(oldest);
    }
  }

  /** A write that has committed: `text` is the document now, null if it was deleted. */
  written(target: DocumentPath, text: string | null): void {
    this.put(target.path, text);
    const ids = this.collections.get(target.parentCollection);
    if (ids === undefined) return;
    if (text === null) {
      if (ids.delete(target.id)) this.collectionIds -= 1;
    } else if (!ids.has(target.id)) {
      ids.add(target.id);
      this.collectionIds += 1;
      if (this.collectionIds > this.limits.maxCollectionIds) this.dropCollection(target.parentCollection);
    }
  }

  /** How many documents and characters are held (for tests of the bounds). */
  size(): { entries: number; chars: number; collectionIds: number } {
    return { entries: this.texts.size, chars: this.chars, collectionIds: this.collectionIds };
  }

  private put(path: string, text: string | null): void {
    const previous = this.texts.get(path);
    if (previous !== undefined) {
      this.texts.delete(path);
      this.chars -= previous?.length ?? 0;
    }
    const length = text?.length ?? 0;
    if (length > this.limits.maxChars) return;
    this.texts.set(path, text);
    this.chars += length;
    while (this.texts.size > this.limits.maxEntries || this.chars > this.limits.maxChars) {
      const [oldest, oldText] = this.texts.entries().next().value as [string, string | null];
      this.texts.delete(oldest);
      this.chars -= oldText?.length ?? 0;
    }
  }

  private touchCollection(collection: string, ids: Set<string>): void {
    this.collections.delete(collection);
    this.collections.set(collection, ids);
  }

  private dropCollection(collection: string): void {
    const ids = this.collections.get(collection);
    if (ids === undefined) return;
    this.collections.delete(collection);
    this.collectionIds -= ids.size;
  }
}
