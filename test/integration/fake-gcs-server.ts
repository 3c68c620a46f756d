/**
 * A loopback stand-in for the Cloud Storage JSON API, just large enough for GcsBlobStore: the
 * multipart and resumable uploads, object metadata, media download, list by prefix and delete
 * (https://cloud.google.com/storage/docs/json_api/v1/objects). It records every request and can
 * be told to fail the next matching ones, to test what the adapter sends and how it retries.
 * Checksums are the real ones (MD5, CRC32C), so the client's end-to-end validation runs for real.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/upload/storage/v1/b/bucket/o?uploadType=multipart`. */
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
  status: number;
}

interface StoredObject {
  bytes: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  generation: number;
}

export interface Fault {
  method: string;
  /** Matches when the request URL contains this. */
  urlIncludes: string;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export class FakeGcsServer {
  readonly requests: RecordedRequest[] = [];
  readonly objects = new Map<string, StoredObject>();
  private readonly faults: Fault[] = [];
  private readonly uploads = new Map<
    string,
    { name: string; meta: Record<string, unknown>; chunks: Buffer[] }
  >();
  private server?: Server;
  private generation = 1;
  /** Corrupts the checksum the server reports for the next upload (to test validation). */
  corruptNextUploadChecksum = false;

  constructor(readonly bucket: string) {}

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      // A bug in the fake must fail the test quickly, not hang the client.
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 500, message: String(error) } }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen({ host: '127.0.0.1', port: 0 }, resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  failNext(fault: Fault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, url, headers: request.headers, bodyBytes: body.length, status });
      const isBytes = Buffer.isBuffer(payload);
      response.writeHead(status, {
        ...(payload === undefined || isBytes ? {} : { 'content-type': 'application/json' }),
        ...headers,
      });
      response.end(payload === undefined ? undefined : isBytes ? payload : JSON.stringify(payload));
    };
    const fault = this.faults.find((f) => f.method === method && url.includes(f.urlIncludes) && f.times! > 0);
    if (fault) {
      fault.times! -= 1;
      return reply(fault.status, { error: { code: fault.status, message: `injected ${fault.status}` } });
    }
    const parsed = new URL(url, 'http://fake');
    const prefix = `/storage/v1/b/${this.bucket}/o`;
    const uploadPrefix = `/upload/storage/v1/b/${this.bucket}/o`;
    const downloadPrefix = `/download/storage/v1/b/${this.bucket}/o`;
    const notFound = () => reply(404, { error: { code: 404, message: 'No such object' } });

    if (method === 'POST' && parsed.pathname === uploadPrefix) {
      const type = parsed.searchParams.get('uploadType');
      // Preconditions (https://cloud.google.com/storage/docs/request-preconditions): generation 0
      // means "only if no live object has this name".
      const precondition = parsed.searchParams.get('ifGenerationMatch');
      const failsPrecondition = (name: string) =>
        precondition !== null && (this.objects.get(name)?.generation ?? 0) !== Number(precondition);
      const preconditionFailed = () =>
        reply(412, {
          error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' },
        });
      if (type === 'multipart') {
        const { meta, media } = parseMultipart(body, String(request.headers['content-type']));
        const name = String(meta.name ?? parsed.searchParams.get('name'));
        if (failsPrecondition(name)) return preconditionFailed();
        return reply(200, this.store(name, media, meta));
      }
      if (type === 'resumable') {
        const meta = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const name = String(meta.name ?? parsed.searchParams.get('name'));
        if (failsPrecondition(name)) return preconditionFailed();
        const id = randomUUID();
        this.uploads.set(id, { name, meta, chunks: [] });
        return reply(200, undefined, {
          location: `${this.endpoint}${uploadPrefix}?uploadType=resumable&upload_id=${id}`,
        });
      }
    }
    if (method === 'PUT' && parsed.pathname === uploadPrefix) {
      const upload = this.uploads.get(parsed.searchParams.get('upload_id') ?? '');
      if (!upload) return notFound();
      upload.chunks.push(body);
      const received = upload.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      // `bytes 0-*/*` is a single streamed request: its end is the end of the object. A chunk
      // `bytes a-b/*` is intermediate; the last chunk names the total (`bytes a-b/N`).
      const range = String(request.headers['content-range'] ?? '');
      const total = /\/(\d+)$/.exec(range)?.[1];
      const streamedWhole = /^bytes \d+-\*\/\*$/.test(range);
      if (!streamedWhole && (total === undefined || Number(total) !== received)) {
        return reply(308, undefined, received > 0 ? { range: `bytes=0-${received - 1}` } : {});
      }
      this.uploads.delete(parsed.searchParams.get('upload_id')!);
      return reply(200, this.store(upload.name, Buffer.concat(upload.chunks), upload.meta));
    }
    if (parsed.pathname === prefix && method === 'GET') {
      const wanted = parsed.searchParams.get('prefix') ?? '';
      const names = [...this.objects.keys()].filter((name) => name.startsWith(wanted)).sort();
      return reply(200, { kind: 'storage#objects', items: names.map((name) => this.resource(name)) });
    }
    for (const base of [prefix, downloadPrefix]) {
      if (!parsed.pathname.startsWith(`${base}/`)) continue;
      const name = decodeURIComponent(parsed.pathname.slice(base.length + 1));
      const object = this.objects.get(name);
      if (method === 'DELETE') {
        if (!object) return notFound();
        this.objects.delete(name);
        return reply(204);
      }
      if (method === 'GET') {
        if (!object) return notFound();
        if (parsed.searchParams.get('alt') === 'media') {
          const resource = this.resource(name);
          return reply(200, object.bytes, {
            'content-type': object.contentType,
            'x-goog-hash': `crc32c=${resource.crc32c},md5=${resource.md5Hash}`,
            'x-goog-stored-content-encoding': 'identity',
            'x-goog-generation': String(object.generation),
          });
        }
        return reply(200, this.resource(name));
      }
    }
    return reply(501, { error: { code: 501, message: `fake GCS does not implement ${method} ${url}` } });
  }

  private store(name: string, bytes: Buffer, meta: Record<string, unknown>) {
    this.objects.set(name, {
      bytes,
      contentType: String(meta.contentType ?? 'application/octet-stream'),
      metadata: (meta.metadata as Record<string, string> | undefined) ?? {},
      generation: this.generation++,
    });
    const resource = this.resource(name);
    if (this.corruptNextUploadChecksum) {
      this.corruptNextUploadChecksum = false;
      return { ...resource, crc32c: 'AAAAAA==', md5Hash: 'AAAAAAAAAAAAAAAAAAAAAA==' };
    }
    return resource;
  }

  private resource(name: string) {
    const object = this.objects.get(name)!;
    return {
      kind: 'storage#object',
      id: `${this.bucket}/${name}/${object.generation}`,
      name,
      bucket: this.bucket,
      generation: String(object.generation),
      size: String(object.bytes.length),
      contentType: object.contentType,
      md5Hash: createHash('md5').update(object.bytes).digest('base64'),
      crc32c: crc32cOf(object.bytes),
      metadata: object.metadata,
    };
  }
}

function crc32cOf(bytes: Buffer): string {
  const crc = new CRC32C();
  crc.update(bytes);
  return crc.toString();
}

/** multipart/related: a JSON metadata part, then the media part. */
function parseMultipart(body: Buffer, contentType: string): { meta: Record<string, unknown>; media: Buffer } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no multipart boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    parts.push(body.subarray(start + delimiter.length, next));
    start = next;
  }
  const content = (part: Buffer) => {
    const headerEnd = part.indexOf('\r\n\r\n');
    // Strip the CRLF before the next delimiter.
    return part.subarray(headerEnd + 4, part.length - 2);
  };
  return {
    meta: JSON.parse(content(parts[0]).toString('utf8')) as Record<string, unknown>,
    media: content(parts[1]),
  };
}
