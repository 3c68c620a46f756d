import type { DocumentData, DocumentSnapshot, DocumentStore, Transaction } from '../../ports/document-store';
import { AlreadyExistsError, NotFoundError } from '../../ports/errors';
import { parseDocumentPath, validateCollectionPath, type DocumentPath } from './document-paths';
import type { EmbeddedDatabase, SqlExecutor } from './embedded-database';

/**
 * DocumentStore on the `documents` table of the embedded database. Documents are stored as JSON
 * text, so what goes in is copied on the way in and parsed afresh on the way out: callers can never
 * mutate stored state through a reference (values that JSON cannot hold, such as `undefined` fields
 * or Dates, come back as JSON would give them).
 *
 * Transactions hold the database for their whole duration (see EmbeddedDatabase), so they never
 * conflict and are never retried: `fn` runs exactly once.
 */
export class EmbeddedDocumentStore implements DocumentStore {
  constructor(
    private readonly database: EmbeddedDatabase,
    private readonly options: { closeDatabase?: boolean } = {},
  ) {}

  async get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined> {
    return readDocument<T>(this.database, parseDocumentPath(path));
  }

  async set(path: string, data: DocumentData, options?: { merge?: boolean }): Promise<void> {
    const target = parseDocumentPath(path);
    const json = encode(data);
    if (options?.merge) {
      await this.database.transaction((sql) => mergeDocument(sql, target, json, false));
    } else {
      await upsertDocument(this.database, target, json);
    }
  }

  async create(path: string, data: DocumentData): Promise<boolean> {
    return insertDocument(this.database, parseDocumentPath(path), encode(data));
  }

  async update(path: string, patch: DocumentData): Promise<void> {
    const target = parseDocumentPath(path);
    const json = encode(patch);
    await this.database.transaction((sql) => mergeDocument(sql, target, json, true));
  }

  async delete(path: string): Promise<void> {
    await deleteDocument(this.database, parseDocumentPath(path));
  }

  async list<T extends DocumentData = DocumentData>(collectionPath: string): Promise<DocumentSnapshot<T>[]> {
    const rows = await this.database.all<{ path: string; id: string; data: string }>(
      'SELECT path, id, data FROM documents WHERE parent_collection = $1 ORDER BY id',
      [validateCollectionPath(collectionPath)],
    );
    return rows.map((row) => ({ id: row.id, path: row.path, data: JSON.parse(row.data) as T }));
  }

  async count(collectionPath: string): Promise<number> {
    const rows = await this.database.all<{ n: number | bigint }>(
      'SELECT count(*) AS n FROM documents WHERE parent_collection = $1',
      [validateCollectionPath(collectionPath)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.database.transaction(async (sql) => {
      const tx = new BufferedTransaction(sql);
      const result = await fn(tx);
      await tx.apply();
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.options.closeDatabase) await this.database.close();
  }
}

type Write =
  | { kind: 'set'; target: DocumentPath; json: string; merge: boolean }
  | { kind: 'create'; target: DocumentPath; json: string }
  | { kind: 'update'; target: DocumentPath; json: string }
  | { kind: 'delete'; target: DocumentPath };

/** Reads go to the database at once; writes are queued and applied in order when `fn` returns. */
class BufferedTransaction implements Transaction {
  private readonly writes: Write[] = [];

  constructor(private readonly sql: SqlExecutor) {}

  async get<T extends DocumentData = DocumentData>(path: string): Promise<T | undefined> {
    const target = parseDocumentPath(path);
    // Firestore's rule; keeping it here stops code that only works on the embedded stack.
    if (this.writes.length > 0) throw new Error('a transaction must do all its reads before its writes');
    return readDocument<T>(this.sql, target);
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
          if (write.merge) await mergeDocument(this.sql, write.target, write.json, false);
          else await upsertDocument(this.sql, write.target, write.json);
          break;
        case 'create':
          if (!(await insertDocument(this.sql, write.target, write.json))) {
            throw new AlreadyExistsError(write.target.path);
          }
          break;
        case 'update':
          await mergeDocument(this.sql, write.target, write.json, true);
          break;
        case 'delete':
          await deleteDocument(this.sql, write.target);
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

async function readDocument<T>(sql: SqlExecutor, target: DocumentPath): Promise<T | undefined> {
  const rows = await sql.all<{ data: string }>('SELECT data FROM documents WHERE path = $1', [target.path]);
  return rows.length === 0 ? undefined : (JSON.parse(rows[0].data) as T);
}

function upsertDocument(sql: SqlExecutor, target: DocumentPath, json: string): Promise<number> {
  return sql.run(
    `INSERT INTO documents VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (path) DO UPDATE SET data = excluded.data, update_time = excluded.update_time`,
    [target.path, target.parentCollection, target.id, json],
  );
}

async function insertDocument(sql: SqlExecutor, target: DocumentPath, json: string): Promise<boolean> {
  const inserted = await sql.run(
    'INSERT INTO documents VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING',
    [target.path, target.parentCollection, target.id, json],
  );
  return inserted > 0;
}

/** Top-level field merge (the port's contract for both `set(merge)` and `update`). */
async function mergeDocument(sql: SqlExecutor, target: DocumentPath, json: string, mustExist: boolean) {
  const existing = await readDocument<DocumentData>(sql, target);
  if (existing === undefined && mustExist) throw new NotFoundError('document', target.path);
  const merged = existing === undefined ? json : JSON.stringify({ ...existing, ...JSON.parse(json) });
  await upsertDocument(sql, target, merged);
}

function deleteDocument(sql: SqlExecutor, target: DocumentPath): Promise<number> {
  return sql.run('DELETE FROM documents WHERE path = $1', [target.path]);
}
