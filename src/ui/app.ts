import { zValidator } from '@hono/zod-validator';
import { Hono, type Context } from 'hono';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { silentLogger } from '../logging/logger';
import { readRun } from '../services/run-documents';
import { asset } from './assets';
import {
  agentsView,
  auditView,
  ledgersView,
  modelRows,
  runDetail,
  runIds,
  runsOverview,
} from './console-data';
import { ConsoleStoreError, type ConsoleStore } from './console-store';
import { html, type Html } from './html';
import { empty, errorBox, page } from './layout';
import { agentsPage, auditPage, calculatorPage, ledgersPage, modelsPage } from './other-pages';
import { runFragment, runPage, runsFragment, runsPage } from './run-pages';

const RunId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a run id: letters, digits, . _ -');
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const FragmentQuery = z.object({ fragment: optional(z.literal('1')) });
const RunFilter = z.object({ run: optional(RunId) });
const AuditQuery = z.object({
  run: optional(RunId),
  action: optional(z.string().max(100)),
  outcome: optional(z.enum(['accepted', 'rejected', 'info'])),
  limit: optional(z.coerce.number().int().min(1).max(5000)),
});
/** The calculator's request: a run and one stay (the stay itself is checked by the service). */
export const PredictRequestSchema = z
  .object({ runId: RunId, stay: z.record(z.string(), z.unknown()) })
  .strict();

const DEFAULT_AUDIT_LIMIT = 500;

export interface ConsoleAppOptions {
  store: ConsoleStore;
  /** Loads TensorFlow.js the first time the calculator needs it (not at start-up). */
  ensureModelBackend: () => Promise<void>;
  now?: () => Date;
}

/**
 * The console's routes (Hono): HTML pages, a few JSON routes, the calculator's POST and the
 * bundled assets. Every query and body is validated with zod before a handler reads it; a bad one
 * is a 400 that says which field. Nothing here logs a request body (the calculator's inputs are a
 * patient's values).
 */
export function consoleApp(options: ConsoleAppOptions): Hono {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const app = new Hono();
  const footer = store.location;

  const send = (c: Context, title: string, pagePath: string, body: Html, charts = false) =>
    c.html(page({ title, path: pagePath, body, footer, charts }).value);

  app.onError((error, c) => {
    const message = (error as Error).message;
    if (error instanceof ConsoleStoreError) {
      if (c.req.path.startsWith('/api/')) return c.json({ error: message }, 503);
      return c.html(
        page({ title: 'Nothing to show yet', path: c.req.path, body: empty(message), footer }).value,
      );
    }
    if (c.req.path.startsWith('/api/')) return c.json({ error: message }, 500);
    return c.html(page({ title: 'Error', path: c.req.path, body: errorBox(message), footer }).value, 500);
  });
  app.notFound((c) =>
    c.html(
      page({
        title: 'Not found',
        path: c.req.path,
        body: html`<p role="alert">Nothing at ${c.req.path}. <a href="/runs">Back to the runs</a>.</p>`,
        footer,
      }).value,
      404,
    ),
  );

  app.get('/', (c) => c.redirect('/runs'));
  app.get('/healthz', (c) => c.json({ ok: true }));

  app.get('/runs', validate('query', FragmentQuery), async (c) => {
    // Before the first `himas train` there is no store: no runs yet (and the page keeps polling).
    const runs = await store
      .read((ports) => runsOverview(ports, now()))
      .catch((error: Error) => {
        if (error instanceof ConsoleStoreError) return [];
        throw error;
      });
    if (c.req.valid('query').fragment) return c.html(runsFragment(runs).value);
    return send(c, 'Runs', '/runs', runsPage(runs));
  });
  app.get('/api/runs', async (c) => c.json(await store.read((ports) => runsOverview(ports, now()))));

  app.get(
    '/runs/:runId',
    validate('param', z.object({ runId: RunId })),
    validate('query', FragmentQuery),
    async (c) => {
      const { runId } = c.req.valid('param');
      const detail = await store.read((ports) => runDetail(ports, runId, now()));
      if (!detail)
        return c.html(
          page({
            title: 'No such run',
            path: '/runs',
            body: html`<p role="alert">No run '${runId}' in this store. <a href="/runs">All runs</a>.</p>`,
            footer,
          }).value,
          404,
        );
      if (c.req.valid('query').fragment) return c.html(runFragment(detail).value);
      const report = reportFile(store, detail.run.outputDirectory);
      return send(
        c,
        `Run ${runId}`,
        '/runs',
        runPage(detail, report ? `/runs/${encodeURIComponent(runId)}/report.html` : null),
        true,
      );
    },
  );
  app.get('/api/runs/:runId', validate('param', z.object({ runId: RunId })), async (c) => {
    const detail = await store.read((ports) => runDetail(ports, c.req.valid('param').runId, now()));
    return detail ? c.json(detail) : c.json({ error: 'no such run' }, 404);
  });
  // The run's own report as `himas train` wrote it (it has no outside references either).
  app.get('/runs/:runId/report.html', validate('param', z.object({ runId: RunId })), async (c) => {
    const { runId } = c.req.valid('param');
    const run = await store.read((ports) => readRun(ports.documents, runId));
    const file = run ? reportFile(store, run.outputDirectory) : null;
    if (!file)
      return c.html(
        page({
          title: 'No report',
          path: '/runs',
          body: html`<p role="alert">
            Run '${runId}' has no report.html on this machine (it is written when the run ends).
          </p>`,
          footer,
        }).value,
        404,
      );
    return c.html(await readFile(file, 'utf8'));
  });

  app.get('/models', validate('query', RunFilter), async (c) => {
    const { run } = c.req.valid('query');
    const { rows, ids } = await store.read(async (ports) => ({
      rows: await modelRows(ports, run),
      ids: await runIds(ports),
    }));
    return send(c, 'Model versions', '/models', modelsPage(rows, ids, run));
  });
  app.get('/api/models', validate('query', RunFilter), async (c) =>
    c.json(await store.read((ports) => modelRows(ports, c.req.valid('query').run))),
  );

  app.get('/ledgers', async (c) => {
    const delta = await store
      .read(async (ports) => {
        const ids = await runIds(ports);
        const newest = ids[0] ? await readRun(ports.documents, ids[0]) : undefined;
        return newest?.config.delta ?? 1e-5;
      })
      .catch(() => 1e-5);
    return send(c, 'Privacy ledgers', '/ledgers', ledgersPage(await ledgersView(store, delta)));
  });

  app.get('/agents', validate('query', RunFilter), async (c) => {
    const { ids, view, runId } = await store.read(async (ports) => {
      const ids = await runIds(ports);
      const runId = c.req.valid('query').run ?? ids[0];
      return { ids, runId, view: runId ? await agentsView(ports, runId) : null };
    });
    return send(c, 'Alerts and estimates', '/agents', agentsPage(view, ids, runId));
  });

  app.get('/audit', validate('query', AuditQuery), async (c) => {
    const q = c.req.valid('query');
    const filter = { runId: q.run, action: q.action, outcome: q.outcome };
    const view = await store.read((ports) =>
      auditView(ports, { ...filter, limit: q.limit ?? DEFAULT_AUDIT_LIMIT }),
    );
    return send(c, 'Audit log', '/audit', auditPage(view, filter));
  });

  app.get('/calculator', validate('query', RunFilter), async (c) => {
    const ids = await store.read((ports) => runIds(ports));
    return send(c, 'Risk calculator', '/calculator', calculatorPage(ids, c.req.valid('query').run ?? ids[0]));
  });
  // Exactly `himas predict --run RUN --stay`: the same service, the same refusals (503 with why).
  app.post('/api/predict', validate('json', PredictRequestSchema), async (c) => {
    const { runId, stay } = c.req.valid('json');
    await options.ensureModelBackend();
    // Loaded with TensorFlow.js on first use, so the console starts without either.
    const { ClinicalSupportAgent } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../services/clinical-support-agent') as typeof import('../services/clinical-support-agent');
    const answer = await store.read(async (ports) => {
      if (!(await readRun(ports.documents, runId)))
        return { status: 404, body: { error: `no run '${runId}'` } };
      const agent = new ClinicalSupportAgent(
        { documents: ports.documents, models: ports.models, logger: silentLogger },
        { runId },
      );
      return agent.predict(stay);
    });
    return c.json(answer.body, answer.status as 200 | 400 | 404 | 503);
  });

  app.get('/assets/:name', (c) => {
    const file = asset(c.req.param('name'));
    if (!file) return c.text('no such asset', 404);
    return c.body(new Uint8Array(file.body), 200, {
      'content-type': file.type,
      'cache-control': 'max-age=3600',
    });
  });
  return app;
}

function reportFile(store: ConsoleStore, outputDirectory: string | null): string | null {
  if (!store.localReports || !outputDirectory) return null;
  const file = path.join(outputDirectory, 'report.html');
  return existsSync(file) ? file : null;
}

/** Validates a part of the request; a failure answers 400 with the fields that were wrong (never their values). */
function validate<T extends z.ZodType, Target extends 'query' | 'param' | 'json'>(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success)
      return c.json(
        {
          error: 'bad request',
          issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
        400,
      );
  });
}
