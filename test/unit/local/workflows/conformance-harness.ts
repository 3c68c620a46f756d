import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CallableError,
  executeWorkflow,
  loadWorkflow,
  virtualClock,
  type Callable,
} from '../../../../src/local/workflows';

/**
 * Runs one conformance workflow. Its header comments say what to expect:
 *   # doc: <the Cloud Workflows page that documents the behaviour>
 *   # expect: <JSON result>        or   # expect-error: <tag>
 *   # data: <JSON runtime argument>      # env: KEY=VALUE
 */
export const CONFORMANCE_DIR = path.join(__dirname, 'conformance');

export interface ConformanceCase {
  file: string;
  expect?: unknown;
  expectError?: string;
  doc?: string;
  data?: unknown;
  env: Record<string, string>;
}

export function readCase(file: string): ConformanceCase {
  const source = fs.readFileSync(file, 'utf8');
  const c: ConformanceCase = { file, env: {} };
  for (const line of source.split('\n')) {
    const m = /^#\s*(expect|expect-error|data|env|doc):\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'doc') c.doc = m[2].trim();
    else if (m[1] === 'expect') c.expect = JSON.parse(m[2]);
    else if (m[1] === 'expect-error') c.expectError = m[2].trim();
    else if (m[1] === 'data') c.data = JSON.parse(m[2]);
    else {
      const [k, ...v] = m[2].split('=');
      c.env[k.trim()] = v.join('=').trim();
    }
  }
  return c;
}

/** Test callables: a connector stand-in, and an endpoint that fails a given number of times. */
export function testCallables(sleeps: number[]): Record<string, Callable> {
  const attempts = new Map<string, number>();
  return {
    'googleapis.pubsub.v1.projects.topics.publish': (args) => {
      const body = args.body as { messages: unknown[] };
      return { topic: args.topic, count: body.messages.length };
    },
    'test.flaky': (args) => {
      const key = String(args.key);
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (n <= Number(args.failures))
        throw new CallableError({
          message: 'flaky',
          tags: ['HttpError'],
          code: Number(args.code ?? 503),
          attempts: n,
        });
      return { attempts: n };
    },
    'test.sleeps': () => [...sleeps],
  };
}

export async function runCase(c: ConformanceCase) {
  const clock = virtualClock();
  const definition = loadWorkflow(fs.readFileSync(c.file, 'utf8'), c.file);
  return executeWorkflow(definition, c.data ?? null, {
    clock,
    env: c.env,
    callables: testCallables(clock.sleeps),
    log: () => undefined,
    maxSteps: 10_000,
  });
}
