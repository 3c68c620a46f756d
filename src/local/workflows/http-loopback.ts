import { CallableError, LocalEnvironmentError } from './errors';
import type { Callable } from './interpreter';

/**
 * http.get/post/put/patch/delete/request for local runs, with the response shape of
 * https://cloud.google.com/workflows/docs/reference/stdlib/http/request: `{ code, headers, body }`
 * (a JSON body is decoded). A status >= 400 raises HttpError with code, headers and body, so retry
 * predicates and `except` blocks can read `e.code`.
 *
 * Only loopback hosts are reached by default, so a local run never calls production endpoints by
 * accident. Any other host ends the execution at once with a LocalEnvironmentError saying what to
 * do, rather than a ConnectionFailedError that http.default_retry would retry for a minute.
 * `routes` sends a host to a local stand-in (`{ 'example.com': 'http://127.0.0.1:8080' }`: the
 * path and query are kept); `allowNetwork` lets calls leave the machine.
 */
export interface LocalHttpOptions {
  routes?: Record<string, string>;
  allowNetwork?: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function target(rawUrl: unknown, options: LocalHttpOptions): URL {
  if (typeof rawUrl !== 'string')
    throw new CallableError({ message: 'http: url is required and must be a string', tags: ['TypeError'] });
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new CallableError({ message: `http: invalid url '${rawUrl}'`, tags: ['ValueError'] });
  }
  const route = options.routes?.[url.host] ?? options.routes?.[url.hostname];
  if (route) {
    const base = new URL(route);
    const basePath = base.pathname.replace(/\/$/, '');
    url = new URL(`${base.origin}${basePath}${url.pathname}${url.search}`);
  } else if (!LOOPBACK.has(url.hostname) && !options.allowNetwork)
    throw new LocalEnvironmentError(
      `http: ${url.origin} is not a loopback address and local runs do not leave this machine; ` +
        `point it at a local stand-in with --http-route ${url.host}=http://127.0.0.1:PORT, or pass --allow-network to really call it`,
    );
  return url;
}

async function request(
  args: Record<string, unknown>,
  method: string,
  options: LocalHttpOptions,
): Promise<unknown> {
  const url = target(args.url, options);
  const query = args.query as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(query ?? {}))
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries((args.headers as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]),
  );
  let body: string | Buffer | undefined;
  if (args.body !== undefined && args.body !== null) {
    if (Buffer.isBuffer(args.body)) body = args.body;
    else if (typeof args.body === 'string') body = args.body;
    else {
      body = JSON.stringify(args.body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
  }
  const timeoutSeconds = typeof args.timeout === 'number' ? args.timeout : 1800;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body as NonNullable<Parameters<typeof fetch>[1]>['body'],
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
  } catch (e) {
    const err = e as Error & { name: string };
    if (err.name === 'TimeoutError')
      throw new CallableError({ message: `http: ${method} ${url} timed out`, tags: ['TimeoutError'] });
    throw new CallableError({
      message: `http: ${method} ${url} failed: ${(err as { cause?: Error }).cause?.message ?? err.message}`,
      tags: ['ConnectionFailedError'],
    });
  }
  const text = await response.text();
  let decoded: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text) {
    try {
      decoded = JSON.parse(text);
    } catch {
      decoded = text;
    }
  }
  const result = {
    code: response.status,
    headers: Object.fromEntries([...(response.headers as unknown as Iterable<[string, string]>)]),
    body: decoded,
  };
  if (response.status >= 400)
    throw new CallableError({
      message: `HTTP server responded with error code ${response.status}`,
      tags: ['HttpError'],
      ...result,
    });
  return result;
}

export function loopbackHttpCallables(options: LocalHttpOptions = {}): Record<string, Callable> {
  const out: Record<string, Callable> = {
    'http.request': (args) => request(args, String(args.method ?? 'GET').toUpperCase(), options),
  };
  for (const m of ['get', 'post', 'put', 'patch', 'delete'])
    out[`http.${m}`] = (args) => request(args, m.toUpperCase(), options);
  return out;
}
