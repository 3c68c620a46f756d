import type { DocumentData, DocumentSnapshot, DocumentStore, Transaction } from '../../ports/document-store';
import { AlreadyExistsError, NotFoundError } from '../../ports/errors';
import { DocumentCache } from './document-cache';
import { parseDocumentPath, validateCollectionPath, type DocumentPath } from './document-paths';
import type { EmbeddedDatabase, SqlExecutor } from './embedded-database';
import { WriteBatch } from './write-batch';

// One cache per database (every store on one file in this process shares its EmbeddedDatabase).
const caches = new WeakMap<EmbeddedDatabase, DocumentCache>();

/**
 * DocumentStore on the `documents` table of the embedded database. Documents are stored as JSON
 * text, so what goes in is copied on the way in and parsed afresh on the way out: callers can never
 * mutate stored state through a reference (values that JSON cannot hold, such as `undefined` fields
 * or Dates, come back as JSON would give them).
 *
 * Transactions hold the database for their whole duration (see EmbeddedDatabase), so they never
 * conflict and are never retried: `fn` runs exactly once.
 *
 * Committed documents are also kept in a DocumentCache (see there for why that is safe): a read of
 * a document this process has seen costs no statement, and a write whose target is known to exist
 * (or not) needs no ON CONFLICT clause, a merge no read. Measured at K = 100 hospitals, these were
 * 4,800 point queries of ≈ 3.5 ms each in one round's workflow (docs/benchmarks.md).
 */
/** Parsed documents remembered per parse function (oldest dropped first). */
const MAX_PARSED_PER_PARSER = 64;

export class EmbeddedDocumentStore implements DocumentStore {
  /** getParsed's results, by parse function and path, with the text they were parsed from. */
  private readonly parsed = new WeakMap<object, Map<string, { text: string; value: unknown }>>();
  private readonly table: DocumentTable;
  /** Creates from outside a transaction, inserted together (one statement per flush). */
  private readonly creates: WriteBatch<{ target: DocumentPath; json: string }, boolean>;

  constructor(
    private readonly database: EmbeddedDatabase,
    private readonly options: { closeDatabase?: boolean } = {},
  ) {
    let cache = caches.get(database);
    if (cache === undefined) {
      cache = new DocumentCache();
      caches.set(database, cache);
    }
    this.table = new DocumentTable(database, cache);
    this.creates = new WriteBatch(
      (batch) => database.serialized(() => this.table.insertMany(batch)),
      (fn) => database.detached(fn),
    );
  }

  async get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined> {
    const target = parseDocumentPath(path);
    const cached = this.table.cached(target);
    const text =
      cached !== undefined ? cached : await this.database.serialized(() => this.table.read(target));
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  /**
   * Like get, then `parse`; the result is reused while the document's committed text is the same
   * string (an identity check when it came from the cache). Run and round documents list every
   * hospital, and every job and delivery reads them: parsing and validating them each time was
   * O(K²) per round (K = 1,000: about 6 of 46 s).
   */
  async getParsed<T>(path: string, parse: (data: DocumentData) => T): Promise<T | undefined> {
    const target = parseDocumentPath(path);
    const cached = this.table.cached(target);
    const text =
      cached !== undefined ? cached : await this.database.serialized(() => this.table.read(target));
    if (text === null) return undefined;
    let byPath = this.parsed.get(parse);
    if (byPath === undefined) {
      byPath = new Map();
      this.parsed.set(parse, byPath);
    }
    const known = byPath.get(path);
    if (known !== undefined && known.text === text) return known.value as T;
    const value = parse(JSON.parse(text) as DocumentData);
    byPath.delete(path);
    byPath.set(path, { text, value });
    if (byPath.size > MAX_PARSED_PER_PARSER) byPath.delete(byPath.keys().next().value as string);
    return value;
  }

  async set(path: string, data: DocumentData, options?: { merge?: boolean }): Promise<void> {
    const target = parseDocumentPath(path);
    const json = encode(data);
    await this.database.serialized(() =>
      options?.merge ? this.table.merge(target, json, false) : this.table.replace(target, json),
    );
  }

  async create(path: string, data: DocumentData): Promise<boolean> {
    const target = parseDocumentPath(path);
    const json = encode(data);
    // Inside a transaction the create is part of it; otherwise concurrent creates (a receipt, an
    // audit record and an evaluation per hospital, 8 or more hospitals at once) share one INSERT.
    return this.database.isHeld()
      ? this.database.serialized(() => this.table.insert(target, json))
      : this.creates.add({ target, json });
  }

  async update(path: string, patch: DocumentData): Promise<void> {
    const target = parseDocumentPath(path);
    const json = encode(patch);
    await this.database.serialized(() => this.table.merge(target, json, true));
  }

  async delete(path: string): Promise<void> {
    const target = parseDocumentPath(path);
    await this.database.serialized(() => this.table.remove(target));
  }

  async list<T extends DocumentData = DocumentData>(collectionPath: string): Promise<DocumentSnapshot<T>[]> {
    const collection = validateCollectionPath(collectionPath);
    const rows = await this.database.serialized(() => this.table.list(collection));
    return rows.map((row) => ({ id: row.id, path: row.path, data: JSON.parse(row.data) as T }));
  }

  async count(collectionPath: string): Promise<number> {
    const collection = validateCollectionPath(collectionPath);
    return this.table.cachedCount(collection) ?? this.database.serialized(() => this.table.count(collection));
  }

  async runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.database.transaction(async () => {
      const tx = new BufferedTransaction(this.table);
      const result = await fn(tx);
      await tx.apply();
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.options.closeDatabase) await this.database.close();
  }
}

/** What a transaction has written so far: the cache does not speak for these until it commits. */
interface Uncommitted {
  paths: Set<string>;
  collections: Set<string>;
}

/**
 * The `documents` table and its cache. Every method but `cached`/`cachedCount` runs holding the
 * database (EmbeddedDatabase.serialized, or inside a transaction), so what it tells the cache is
 * in step with what is committed.
 */
class DocumentTable {
  private readonly uncommittedKey = {};

  constructor(
    private readonly sql: EmbeddedDatabase,
    private readonly cache: DocumentCache,
  ) {}

  /** The committed text (null: absent) if the cache knows it and this transaction has not written it. */
  cached(target: DocumentPath): string | null | undefined {
    if (this.uncommitted()?.paths.has(target.path)) return undefined;
    return this.cache.lookup(target);
  }

  cachedCount(collection: string): number | undefined {
    if (this.uncommitted()?.collections.has(collection)) return undefined;
    return this.cache.collectionIdsOf(collection)?.size;
  }

  async read(target: DocumentPath): Promise<string | null> {
    const cached = this.cached(target);
    if (cached !== undefined) return cached;
    const uncommitted = this.uncommitted();
    if (
      !uncommitted?.collections.has(target.parentCollection) &&
      this.cache.worthLoading(target.parentCollection)
    ) {
      // First miss in a collection: its ids (one statement) answer every later miss in it, such as
      // each hospital's not-yet-received update of a round.
      await this.loadIds(target.parentCollection);
      const known = this.cached(target);
      if (known !== undefined) return known;
    }
    const rows = await this.sql.all<{ data: string }>('SELECT data FROM documents WHERE path = $1', [
      target.path,
    ]);
    const text = rows.length === 0 ? null : rows[0].data;
    if (!uncommitted?.paths.has(target.path)) this.cache.remember(target, text);
    return text;
  }

  /** Reads a collection's ids into the cache (unless this transaction changed it); how many there are. */
  private async loadIds(collection: string): Promise<number> {
    const rows = await this.sql.all<{ id: string }>(
      `SELECT id FROM documents WHERE parent_collection = $1 LIMIT ${this.cache.idsPerCollectionLimit + 1}`,
      [collection],
    );
    if (!this.uncommitted()?.collections.has(collection))
      this.cache.rememberCollection(
        collection,
        rows.map((row) => row.id),
      );
    return rows.length;
  }

  async replace(target: DocumentPath, json: string): Promise<void> {
    const known = this.cached(target);
    if (known === null) await insertRow(this.sql, target, json);
    else if (known !== undefined) await updateRow(this.sql, target, json);
    else await upsertRow(this.sql, target, json);
    this.wrote(target, json);
  }

  /** Top-level field merge (the port's contract for both `set(merge)` and `update`). */
  async merge(target: DocumentPath, json: string, mustExist: boolean): Promise<void> {
    const existing = await this.read(target);
    if (existing === null && mustExist) throw new NotFoundError('document', target.path);
    if (existing === null) {
      await insertRow(this.sql, target, json);
      this.wrote(target, json);
      return;
    }
    const merged = JSON.stringify({
      ...(JSON.parse(existing) as DocumentData),
      ...(JSON.parse(json) as DocumentData),
    });
    await updateRow(this.sql, target, merged);
    this.wrote(target, merged);
  }

  /** Creates the document unless it exists; whether it did. */
  async insert(target: DocumentPath, json: string): Promise<boolean> {
    const known = this.cached(target);
    if (known !== null && known !== undefined) return false;
    if (known === null) {
      // Known absent: no ON CONFLICT (it doubles the cost); a stale cache would fail loudly here.
      await insertRow(this.sql, target, json);
    } else {
      const inserted = await this.sql.run(
        'INSERT INTO documents VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING',
        [target.path, target.parentCollection, target.id, json],
      );
      if (inserted === 0) return false;
    }
    this.wrote(target, json);
    return true;
  }

  /** `insert` for many documents in one statement; whether each was created (the first of a path wins). */
  async insertMany(batch: Array<{ target: DocumentPath; json: string }>): Promise<boolean[]> {
    const fresh = new Map<string, { target: DocumentPath; json: string }>();
    for (const item of batch) {
      const known = this.cached(item.target);
      if ((known === null || known === undefined) && !fresh.has(item.target.path))
        fresh.set(item.target.path, item);
    }
    const inserted = new Set<string>();
    if (fresh.size > 0) {
      const params: string[] = [];
      const values = [...fresh.values()].map(({ target, json }) => {
        const at = params.push(target.path, target.parentCollection, target.id, json);
        return `($${at - 3}, $${at - 2}, $${at - 1}, $${at}, now())`;
      });
      const rows = await this.sql.all<{ path: string }>(
        `INSERT INTO documents VALUES ${values.join(', ')} ON CONFLICT DO NOTHING RETURNING path`,
        params,
      );
      for (const row of rows) inserted.add(row.path);
      for (const path of inserted) {
        const item = fresh.get(path)!;
        this.wrote(item.target, item.json);
      }
    }
    return batch.map((item) => inserted.has(item.target.path) && fresh.get(item.target.path) === item);
  }

  async remove(target: DocumentPath): Promise<void> {
    await this.sql.run('DELETE FROM documents WHERE path = $1', [target.path]);
    this.wrote(target, null);
  }

  async list(collection: string): Promise<Array<{ path: string; id: string; data: string }>> {
    const rows = await this.sql.all<{ path: string; id: string; data: string }>(
      'SELECT path, id, data FROM documents WHERE parent_collection = $1 ORDER BY id',
      [collection],
    );
    if (!this.uncommitted()?.collections.has(collection)) {
      this.cache.rememberCollection(
        collection,
        rows.map((row) => row.id),
      );
      for (const row of rows)
        this.cache.remember({ path: row.path, parentCollection: collection, id: row.id }, row.data);
    }
    return rows;
  }

  async count(collection: string): Promise<number> {
    const cached = this.cachedCount(collection);
    if (cached !== undefined) return cached;
    // The ids, not count(*): the next count, and every create in the collection, then needs no statement.
    if (this.cache.worthLoading(collection)) {
      const loaded = await this.loadIds(collection);
      if (loaded <= this.cache.idsPerCollectionLimit) return loaded;
    }
    const rows = await this.sql.all<{ n: number | bigint }>(
      'SELECT count(*) AS n FROM documents WHERE parent_collection = $1',
      [collection],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** After a write: the cache learns it at commit (at once outside a transaction). */
  private wrote(target: DocumentPath, text: string | null): void {
    const uncommitted = this.sql.transactionState<Uncommitted>(this.uncommittedKey, () => ({
      paths: new Set(),
      collections: new Set(),
    }));
    uncommitted?.paths.add(target.path);
    uncommitted?.collections.add(target.parentCollection);
    this.sql.afterCommit(() => this.cache.written(target, text));
  }

  private uncommitted(): Uncommitted | undefined {
    return this.sql.transactionState<Uncommitted>(this.uncommittedKey, () => ({
      paths: new Set(),
      collections: new Set(),
    }));
  }
}

type Write =
  | { kind: 'set'; target: DocumentPath; json: string; merge: boolean }
  | { kind: 'create'; target: DocumentPath; json: string }
  | { kind: 'update'; target: DocumentPath; json: string }
  | { kind: 'delete'; target: DocumentPath };

/** Reads go to the table at once; writes are queued and applied in order when `fn` returns. */
class BufferedTransaction implements Transaction {
  private readonly writes: Write[] = [];

  constructor(private readonly table: DocumentTable) {}

  async get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined> {
    const target = parseDocumentPath(path);
    // Firestore's rule; keeping it here stops code that only works on the embedded stack.
    if (this.writes.length > 0) throw new Error('a transaction must do all its reads before its writes');
    const text = await this.table.read(target);
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  set(path: string, data: DocumentData, options?: { merge?: boolean }): void {
    this.writes.push({
      kind: 'set',
      target: parseDocumentPath(path),
      json: encode(data),
      merge: !!options?.merge,
    });
  }

  create(path: string, data: DocumentData): void {
    this.writes.push({ kind: 'create', target: parseDocumentPath(path), json: encode(data) });
  }

  update(path: string, patch: DocumentData): void {
    this.writes.push({ kind: 'update', target: parseDocumentPath(path), json: encode(patch) });
  }

  delete(path: string): void {
    this.writes.push({ kind: 'delete', target: parseDocumentPath(path) });
  }

  /** Throws (so the surrounding database transaction rolls back) when a write cannot apply. */
  async apply(): Promise<void> {
    for (const write of this.writes) {
      switch (write.kind) {
        case 'set':
          if (write.merge) await this.table.merge(write.target, write.json, false);
          else await this.table.replace(write.target, write.json);
          break;
        case 'create':
          if (!(await this.table.insert(write.target, write.json))) {
            throw new AlreadyExistsError(write.target.path);
          }
          break;
        case 'update':
          await this.table.merge(write.target, write.json, true);
          break;
        case 'delete':
          await this.table.remove(write.target);
          break;
      }
    }
  }
}

function encode(data: DocumentData): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TypeError(
      `document data must be an object, got ${Array.isArray(data) ? 'an array' : typeof data}`,
    );
  }
  return JSON.stringify(data);
}

function insertRow(sql: SqlExecutor, target: DocumentPath, json: string): Promise<number> {
  return sql.run('INSERT INTO documents VALUES ($1, $2, $3, $4, now())', [
    target.path,
    target.parentCollection,
    target.id,
    json,
  ]);
}

function updateRow(sql: SqlExecutor, target: DocumentPath, json: string): Promise<number> {
  return sql.run('UPDATE documents SET data = $2, update_time = now() WHERE path = $1', [target.path, json]);
}

function upsertRow(sql: SqlExecutor, target: DocumentPath, json: string): Promise<number> {
  return sql.run(
    `INSERT INTO documents VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (path) DO UPDATE SET data = excluded.data, update_time = excluded.update_time`,
    [target.path, target.parentCollection, target.id, json],
  );
}
