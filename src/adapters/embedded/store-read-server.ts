import { chmod, unlink } from 'node:fs/promises';
import * as net from 'node:net';
import { WAREHOUSE_TABLES, type TableDefinition } from '../../../schemas/warehouse';
import type { DocumentStore } from '../../ports/document-store';
import type { Warehouse } from '../../ports/warehouse';
import {
  MAX_REQUEST_BYTES,
  ReadRequestSchema,
  type ReadReply,
  type ReadRequest,
} from './store-read-protocol';

export interface StoreReadServer {
  socketPath: string;
  close(): Promise<void>;
}

/**
 * Serves reads of the store this process holds to other local processes (DuckDB lets one process
 * open the file for writing and nobody else in the meantime). The socket file is the owner's
 * alone (mode 0600), and the protocol has no write, so a reader can look but never change a run,
 * a ledger or a model. A stale socket left by a killed process is replaced.
 */
export async function serveStoreReads(
  socketPath: string,
  ports: { documents: DocumentStore; warehouse: Warehouse },
): Promise<StoreReadServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES && !buffered.includes('\n')) {
        socket.destroy();
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        void answer(line, ports).then((reply) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  });
  await listenReplacingStale(server, socketPath);
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function answer(
  line: string,
  ports: { documents: DocumentStore; warehouse: Warehouse },
): Promise<ReadReply> {
  let request: ReadRequest;
  let id = -1;
  try {
    const raw = JSON.parse(line) as { id?: unknown };
    if (typeof raw?.id === 'number') id = raw.id;
    request = ReadRequestSchema.parse(raw);
  } catch (error) {
    return { id, error: { name: 'BadRequest', message: `not a store read: ${(error as Error).message}` } };
  }
  try {
    return { id, result: await perform(request, ports) };
  } catch (error) {
    const e = error as Error;
    return { id, error: { name: e.name, message: e.message } };
  }
}

function perform(request: ReadRequest, ports: { documents: DocumentStore; warehouse: Warehouse }) {
  switch (request.method) {
    case 'documents.get':
      return ports.documents.get(request.path).then((data) => data ?? null);
    case 'documents.list':
      return ports.documents.list(request.path);
    case 'documents.count':
      return ports.documents.count(request.path);
    case 'warehouse.query': {
      const table = (WAREHOUSE_TABLES as readonly TableDefinition<Record<string, unknown>>[]).find(
        (t) => t.name === request.table,
      );
      if (!table) throw new Error(`no warehouse table '${request.table}'`);
      return ports.warehouse.query(table, request.query);
    }
  }
}

async function listenReplacingStale(server: net.Server, socketPath: string): Promise<void> {
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    // Someone answering there holds the store too, which DuckDB's lock rules out: it is stale.
    if (await answers(socketPath)) throw new Error(`another process already serves ${socketPath}`);
    await unlink(socketPath);
    await listen();
  }
}

/** Whether a live server accepts connections on the socket (a stale file refuses them). */
export function answers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (alive: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(alive);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
