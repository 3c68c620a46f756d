import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { raiseError } from './errors';
import { fromJs, type WfValue } from './values';

/**
 * Callback endpoints for events.create_callback_endpoint / events.await_callback
 * (https://cloud.google.com/workflows/docs/creating-callback-endpoints). Locally each execution
 * serves its endpoints over HTTP on loopback, at a path shaped like the cloud's
 * (/v1/projects/P/locations/L/workflows/W/executions/E/callbacks/ID), started on the first
 * endpoint and closed when the execution ends. A request that arrives before anyone waits is kept,
 * as the cloud keeps it, for the next await_callback on that endpoint.
 */
export const CALLBACK_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

interface Endpoint {
  method: string;
  received: WfValue[];
  waiters: ((request: WfValue) => void)[];
}

export class CallbackEndpoints {
  private server?: http.Server;
  private listening?: Promise<number>;
  private endpoints = new Map<string, Endpoint>();

  constructor(
    private readonly basePath: string,
    private readonly now: () => number,
    private readonly host = '127.0.0.1',
  ) {}

  /** Creates an endpoint; returns its URL. */
  async create(method: string): Promise<string> {
    const port = await this.listen();
    const path = `${this.basePath}/callbacks/${randomUUID()}`;
    this.endpoints.set(path, { method, received: [], waiters: [] });
    return `http://${this.host}:${port}${path}`;
  }

  /** The next request received at `url`, or a TimeoutError after `timeoutSeconds`. */
  async await(url: string, timeoutSeconds: number): Promise<WfValue> {
    const endpoint = this.endpoints.get(pathOf(url));
    if (!endpoint)
      raiseError('ValueError', `events.await_callback: ${url} is not a callback endpoint of this execution`);
    const early = endpoint.received.shift();
    if (early !== undefined) return early;
    return new Promise<WfValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        endpoint.waiters = endpoint.waiters.filter((w) => w !== deliver);
        try {
          raiseError(
            'TimeoutError',
            `events.await_callback: no callback received within ${timeoutSeconds} s at ${url}`,
          );
        } catch (e) {
          reject(e);
        }
      }, timeoutSeconds * 1000);
      const deliver = (request: WfValue): void => {
        clearTimeout(timer);
        resolve(request);
      };
      endpoint.waiters.push(deliver);
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private listen(): Promise<number> {
    this.listening ??= new Promise<number>((resolve, reject) => {
      const server = http.createServer((req, res) => this.receive(req, res));
      server.on('error', reject);
      server.listen(0, this.host, () => resolve((server.address() as AddressInfo).port));
      this.server = server;
    });
    return this.listening;
  }

  private receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const endpoint = this.endpoints.get(url.pathname);
    const reply = (code: number, body: unknown) => {
      res.statusCode = code;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (!endpoint) return reply(404, { error: { code: 404, message: 'no such callback endpoint' } });
    if (req.method !== endpoint.method)
      return reply(405, { error: { code: 405, message: `this callback expects ${endpoint.method}` } });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text.length ? text : null;
      if (text.length && (req.headers['content-type'] ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      const request = fromJs({
        http_request: {
          body,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          method: req.method,
          query,
          url: `${url.pathname}${url.search}`,
        },
        received_time: new Date(this.now()).toISOString(),
        type: 'HTTP',
      });
      const waiter = endpoint.waiters.shift();
      if (waiter) waiter(request);
      else endpoint.received.push(request);
      reply(200, {});
    });
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
