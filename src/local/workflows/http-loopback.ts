import { CallableError } from './errors';
import type { Callable } from './interpreter';

/**
 * http.get/post/put/patch/delete/request for local runs, with the response shape of
 * https://cloud.google.com/workflows/docs/reference/stdlib/http/request: `{ code, headers, body }`
 * (a JSON body is decoded). A status >= 400 raises HttpError with code/headers/body. Only loopback
 * hosts are reachable, so a local run never calls production endpoints by accident.
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

async function request(args: Record<string, unknown>, method: string): Promise<unknown> {
  const rawUrl = args.url;
  if (typeof rawUrl !== 'string')
    throw new CallableError({ message: 'http: url is required', tags: ['ValueError'] });
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new CallableError({ message: `http: invalid url '${rawUrl}'`, tags: ['ValueError'] });
  }
  if (!LOOPBACK.has(url.hostname))
    throw new CallableError({
      message: `http: only loopback addresses are reachable locally, not '${url.hostname}'`,
      tags: ['ConnectionFailedError'],
    });
  const query = args.query as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.append(k, String(v));
  const headers: Record<string, string> = Object.fromEntries(
    Object.entries((args.headers as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]),
  );
  let body: string | Buffer | undefined;
  if (args.body !== undefined && args.body !== null) {
    if (Buffer.isBuffer(args.body)) body = args.body;
    else if (typeof args.body === 'string') body = args.body;
    else {
      body = JSON.stringify(args.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  const timeoutSeconds = typeof args.timeout === 'number' ? args.timeout : 300;
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
      message: `http: ${method} ${url} failed: ${err.message}`,
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

export function loopbackHttpCallables(): Record<string, Callable> {
  const out: Record<string, Callable> = {
    'http.request': (args) => request(args, String(args.method ?? 'GET').toUpperCase()),
  };
  for (const m of ['get', 'post', 'put', 'patch', 'delete'])
    out[`http.${m}`] = (args) => request(args, m.toUpperCase());
  return out;
}
