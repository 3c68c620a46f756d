import * as net from 'node:net';
import type { TableDefinition } from '../../../schemas/warehouse';
import type { DocumentData, DocumentSnapshot, DocumentStore } from '../../ports/document-store';
import type { Warehouse, WarehouseQuery } from '../../ports/warehouse';
import type { ReadReply, ReadRequest } from './store-read-protocol';

/** The process serving the store stopped (its run ended) while a read was under way: read again. */
export class StoreServerGoneError extends Error {
  constructor(socketPath: string) {
    super(`the process serving the HIMAS store at ${socketPath} stopped`);
    this.name = 'StoreServerGoneError';
  }
}

/** A store that refuses every write: what a reader of another process's store gets. */
export class ReadOnlyStoreError extends Error {
  constructor(what: string) {
    super(`${what}: this is a read-only view of the HIMAS store`);
    this.name = 'ReadOnlyStoreError';
  }
}

type Request = ReadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Reads of a store held by another local process, over its socket (store-read-server.ts). */
export class StoreReadClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private gone = false;

  private constructor(
    readonly socketPath: string,
    private readonly socket: net.Socket,
  ) {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        this.settle(JSON.parse(buffered.slice(0, newline)) as ReadReply);
        buffered = buffered.slice(newline + 1);
      }
    });
    const fail = () => {
      this.gone = true;
      for (const waiter of this.pending.values()) waiter.reject(new StoreServerGoneError(socketPath));
      this.pending.clear();
    };
    socket.on('close', fail);
    socket.on('error', fail);
  }

  /** Connects, or resolves to null when nobody serves the socket (no file, or a stale one). */
  static connect(socketPath: string, timeoutMs = 1000): Promise<StoreReadClient | null> {
    return new Promise((resolve) => {
      const socket = net.connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(null);
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new StoreReadClient(socketPath, socket));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
    });
  }

  get connected(): boolean {
    return !this.gone;
  }

  readonly documents: DocumentStore = {
    get: async <T extends DocumentData>(path: string) =>
      ((await this.call({ method: 'documents.get', path })) ?? undefined) as T | undefined,
    list: <T extends DocumentData>(path: string) =>
      this.call({ method: 'documents.list', path }) as Promise<DocumentSnapshot<T>[]>,
    count: (path: string) => this.call({ method: 'documents.count', path }) as Promise<number>,
    set: () => Promise.reject(new ReadOnlyStoreError('set')),
    create: () => Promise.reject(new ReadOnlyStoreError('create')),
    update: () => Promise.reject(new ReadOnlyStoreError('update')),
    delete: () => Promise.reject(new ReadOnlyStoreError('delete')),
    runTransaction: () => Promise.reject(new ReadOnlyStoreError('runTransaction')),
    close: async () => undefined,
  };

  readonly warehouse: Warehouse = {
    insert: () => Promise.reject(new ReadOnlyStoreError('insert')),
    query: async <Row extends Record<string, unknown>>(
      table: TableDefinition<Row>,
      query: WarehouseQuery<Row> = {},
    ) => {
      const rows = (await this.call({
        method: 'warehouse.query',
        table: table.name,
        query: query as Extract<Request, { method: 'warehouse.query' }>['query'],
      })) as unknown[];
      // Validated here as well: the port promises rows of the table's schema.
      return rows.map((row) => table.row.parse(row));
    },
  };

  close(): void {
    this.gone = true;
    this.socket.destroy();
  }

  private call(request: Request): Promise<unknown> {
    if (this.gone) return Promise.reject(new StoreServerGoneError(this.socketPath));
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  private settle(reply: ReadReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if ('error' in reply) {
      const error = new Error(reply.error.message);
      error.name = reply.error.name;
      waiter.reject(error);
    } else waiter.resolve(reply.result);
  }
}
