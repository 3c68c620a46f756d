import type { ChildProcess } from 'node:child_process';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../ports/errors';
import type { HospitalJobPorts } from '../../services/hospital-job';

/**
 * Lets a hospital job running as its own process use the parent's adapters. The embedded store is
 * one database file that only one process may open, so the local job runner serves the ports to
 * its children over the IPC channel (structured clone, so Uint8Array travels as is) — the job code
 * itself is unchanged and only sees the port interfaces, as it would in Cloud Run.
 */
export type JobPorts = HospitalJobPorts;

/**
 * What a job may call: reads of shared state only (least privilege, as the hospital's service
 * account in the cloud); a write method is refused by the parent, whatever the child sends.
 */
const METHODS: { [K in keyof JobPorts]: Array<keyof JobPorts[K] & string> } = {
  documents: ['get', 'list'],
  blobs: ['put', 'create', 'get', 'stat', 'list', 'delete'],
  events: ['publish'],
  models: ['get', 'load'],
};

interface CallMessage {
  himasRpc: 'call';
  id: number;
  port: keyof JobPorts;
  method: string;
  args: unknown[];
}
interface ReplyMessage {
  himasRpc: 'reply';
  id: number;
  result?: unknown;
  error?: { name: string; message: string; what?: string; path?: string };
}

/** Parent side: answers the child's port calls until it exits. */
export function servePortsOverIpc(child: ChildProcess, ports: JobPorts): void {
  child.on('message', (raw: unknown) => {
    const message = raw as CallMessage;
    if (!message || message.himasRpc !== 'call') return;
    const reply = (payload: Omit<ReplyMessage, 'himasRpc' | 'id'>) => {
      if (child.connected) child.send({ himasRpc: 'reply', id: message.id, ...payload });
    };
    if (
      !Object.hasOwn(METHODS, message.port) ||
      !(METHODS[message.port] as string[]).includes(message.method)
    ) {
      reply({ error: { name: 'Error', message: `unknown port method ${message.port}.${message.method}` } });
      return;
    }
    const target = ports[message.port] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    Promise.resolve()
      .then(() => target[message.method](...message.args))
      .then(
        (result) => reply({ result }),
        (error: Error & { what?: string; path?: string }) =>
          reply({ error: { name: error.name, message: error.message, what: error.what, path: error.path } }),
      );
  });
}

/** Child side: port proxies that forward every call to the parent. */
export function connectPortsOverIpc(): JobPorts {
  if (!process.send)
    throw new Error('this job expects to be started by a local HIMAS job runner (no IPC channel)');
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  process.on('message', (raw: unknown) => {
    const message = raw as ReplyMessage;
    if (!message || message.himasRpc !== 'reply') return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(reviveError(message.error));
    else waiter.resolve(message.result);
  });
  const proxy = <K extends keyof JobPorts>(port: K): JobPorts[K] => {
    const object: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of METHODS[port]) {
      object[method] = (...args: unknown[]) =>
        new Promise((resolve, reject) => {
          const id = next++;
          pending.set(id, { resolve, reject });
          process.send!({ himasRpc: 'call', id, port, method, args } satisfies CallMessage);
        });
    }
    return object as unknown as JobPorts[K];
  };
  return {
    documents: proxy('documents'),
    blobs: proxy('blobs'),
    events: proxy('events'),
    models: proxy('models'),
  };
}

/** Lets the child release the IPC channel so it can exit once its work is done. */
export function disconnectIpc(): void {
  if (process.connected) process.disconnect();
}

function reviveError(error: NonNullable<ReplyMessage['error']>): Error {
  if (error.name === 'NotFoundError') return new NotFoundError(error.what ?? 'item', error.path ?? '');
  if (error.name === 'AlreadyExistsError') return new AlreadyExistsError(error.path ?? '');
  if (error.name === 'ConflictError') return new ConflictError(error.message);
  const revived = new Error(error.message);
  revived.name = error.name;
  return revived;
}
