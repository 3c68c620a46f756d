import { executeWorkflow, loadWorkflow, type Callable } from '../../../../src/local/workflows';

/**
 * events.create_callback_endpoint / events.await_callback served on loopback
 * (https://cloud.google.com/workflows/docs/creating-callback-endpoints,
 * https://cloud.google.com/workflows/docs/reference/stdlib/events/await_callback).
 */
const WORKFLOW = `
main:
  params: [args]
  steps:
    - create:
        call: events.create_callback_endpoint
        args:
          http_callback_method: \${args.method}
        result: cb
    - tell:
        call: test.notify
        args:
          url: \${cb.url}
    - wait:
        call: events.await_callback
        args:
          callback: \${cb}
          timeout: \${args.timeout}
        result: request
    - r:
        return: [\${cb.url}, \${request}]
`;

function notifyWith(send: (url: string) => Promise<Response>, waitForDelivery: boolean) {
  const sent: Promise<Response>[] = [];
  const notify: Callable = async (args) => {
    const p = send(String(args.url));
    sent.push(p);
    if (waitForDelivery) await p;
    return null;
  };
  return { notify, sent };
}

async function run(args: unknown, notify: Callable) {
  return executeWorkflow(loadWorkflow(WORKFLOW, 'callbacks.yaml'), args, {
    callables: { 'test.notify': notify },
    log: () => undefined,
  });
}

describe('events.* callbacks on loopback', () => {
  it('delivers the HTTP request to await_callback: method, JSON body, query lists, cloud-shaped path', async () => {
    const { notify, sent } = notifyWith(
      (url) =>
        new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
          fetch(`${url}?x=1&x=2`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ approved: true }),
          }),
        ),
      false,
    );
    const outcome = await run({ method: 'POST', timeout: 10 }, notify);
    expect(outcome.ok).toBe(true);
    const [url, request] = (outcome as { result: [string, Record<string, Record<string, unknown>>] }).result;
    expect(url).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/v1\/projects\/local-project\/locations\/us-central1\/workflows\/callbacks\/executions\/[0-9a-f-]{36}\/callbacks\/[0-9a-f-]{36}$/,
    );
    expect(request.type).toBe('HTTP');
    expect(request.http_request).toMatchObject({
      method: 'POST',
      body: { approved: true },
      query: { x: ['1', '2'] },
    });
    expect((await sent[0]).status).toBe(200);
  });

  it('keeps a request that arrives before anyone waits, and closes the endpoints with the execution', async () => {
    const { notify, sent } = notifyWith((url) => fetch(url, { method: 'GET' }), true);
    const outcome = await run({ method: 'GET', timeout: 10 }, notify);
    expect(outcome.ok).toBe(true);
    const [url, request] = (outcome as { result: [string, { http_request: { method: string } }] }).result;
    expect(request.http_request.method).toBe('GET');
    expect((await sent[0]).status).toBe(200);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('answers 405 to another method and raises TimeoutError when no callback comes', async () => {
    const { notify, sent } = notifyWith((url) => fetch(url, { method: 'PUT' }), true);
    const outcome = await run({ method: 'POST', timeout: 0.05 }, notify);
    expect((await sent[0]).status).toBe(405);
    expect(outcome).toMatchObject({
      ok: false,
      error: { tags: ['TimeoutError'] },
      location: { step: 'wait' },
    });
  });

  it('rejects an unknown callback method with a ValueError', async () => {
    const outcome = await run({ method: 'FETCH', timeout: 1 }, async () => null);
    expect(outcome).toMatchObject({
      ok: false,
      error: { tags: ['ValueError'] },
      location: { step: 'create' },
    });
  });
});
