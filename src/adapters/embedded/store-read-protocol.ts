import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';

/**
 * The wire format between a process that holds the embedded store (a running `himas train`) and
 * local processes that want to read it (`himas status`, `agents`, `audit`, `ui`): one JSON object
 * a line over a Unix domain socket. Only reads exist in it, so a reader can never change the store.
 */

// Linux's sockaddr_un holds 108 bytes; a deep --home gets a socket in the temp folder instead,
// named by a hash of the store's path so every reader finds the same one.
const MAX_SOCKET_PATH_BYTES = 100;

/** Where the training process listens for reads of the store in `home`. */
export function storeSocketPath(home: string): string {
  const resolved = path.resolve(home);
  const beside = path.join(resolved, 'store.sock');
  if (Buffer.byteLength(beside) <= MAX_SOCKET_PATH_BYTES) return beside;
  const digest = createHash('sha256').update(resolved).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `himas-store-${digest}.sock`);
}

/** Longest request line a server accepts: paths and filters are short, so anything longer is abuse. */
export const MAX_REQUEST_BYTES = 64 * 1024;

const WhereValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ReadRequestSchema = z.discriminatedUnion('method', [
  z.object({ id: z.number().int(), method: z.literal('documents.get'), path: z.string().min(1).max(1024) }),
  z.object({ id: z.number().int(), method: z.literal('documents.list'), path: z.string().min(1).max(1024) }),
  z.object({ id: z.number().int(), method: z.literal('documents.count'), path: z.string().min(1).max(1024) }),
  z.object({
    id: z.number().int(),
    method: z.literal('warehouse.query'),
    table: z.string().min(1).max(64),
    query: z
      .object({
        where: z.record(z.string(), WhereValue).optional(),
        orderBy: z.string().optional(),
        descending: z.boolean().optional(),
        limit: z.number().int().nonnegative().optional(),
      })
      .strict(),
  }),
]);
export type ReadRequest = z.infer<typeof ReadRequestSchema>;

export type ReadReply =
  { id: number; result: unknown } | { id: number; error: { name: string; message: string } };
