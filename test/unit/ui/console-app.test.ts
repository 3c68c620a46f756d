import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openEmbeddedStack, type EmbeddedStack } from '../../../src/adapters/embedded';
import { localHospitalLedger } from '../../../src/adapters/ledger/local-hospital-ledger';
import { DocumentModelRegistry } from '../../../src/adapters/model-registry/document-model-registry';
import { consoleApp } from '../../../src/ui/app';
import type { ConsoleStore } from '../../../src/ui/console-store';

/** The console's routes over a real embedded store, through Hono's own request handling. */
describe('console routes', () => {
  let home: string;
  let stack: EmbeddedStack;
  let app: ReturnType<typeof consoleApp>;
  let backendLoads = 0;
  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'himas-console-'));
    stack = await openEmbeddedStack(home);
    // Attack: markup in text the log holds (a reason an update's sender can influence).
    await stack.documents.set('audit/a1', {
      id: 'a1',
      time: '2026-12-01T10:00:00.000Z',
      runId: 'r1',
      round: 1,
      actor: 'aggregator',
      action: 'update.rejected',
      outcome: 'rejected',
      reason: '<img src=x onerror="alert(1)"> bad signature',
      subject: 'h1',
    });
    await stack.documents.set('audit/a2', {
      id: 'a2',
      time: '2026-12-01T10:00:01.000Z',
      runId: 'r1',
      round: 1,
      actor: 'aggregator',
      action: 'update.accepted',
      outcome: 'accepted',
      reason: null,
      subject: 'h2',
    });
    const models = new DocumentModelRegistry(stack.documents, stack.blobs);
    const store: ConsoleStore = {
      kind: 'embedded',
      location: `test store ${home}`,
      read: (fn) => fn({ documents: stack.documents, models, warehouse: stack.warehouse }),
      ledgers: localHospitalLedger(path.join(home, 'hospital-state')),
      ledgerLocation: path.join(home, 'hospital-state'),
      localReports: true,
      close: async () => undefined,
    };
    app = consoleApp({ store, ensureModelBackend: async () => void backendLoads++ });
  });
  afterAll(async () => {
    await stack.close();
    await rm(home, { recursive: true, force: true });
  });

  test('escapes what the store holds: an audit reason cannot inject markup', async () => {
    const response = await app.request('/audit');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; bad signature');
    expect(html).not.toContain('<img src=x');
  });

  test('filters the audit log by action and outcome', async () => {
    const accepted = await (await app.request('/audit?action=update.accepted')).text();
    expect(accepted).toContain('1 record,');
    expect(accepted).not.toContain('bad signature');
    const rejected = await (await app.request('/audit?outcome=rejected&run=r1')).text();
    expect(rejected).toContain('bad signature');
  });

  test('validates every query, parameter and body with zod: 400 names the field, never echoes the value', async () => {
    const badOutcome = await app.request('/audit?outcome=%3Cscript%3E');
    expect(badOutcome.status).toBe(400);
    const body = (await badOutcome.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toEqual(['outcome']);
    expect(JSON.stringify(body)).not.toContain('<script>');
    expect((await app.request('/runs/..%2F..%2Fetc')).status).toBe(400);
    const noStay = await app.request('/api/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runId: 'r1', extra: 1 }),
    });
    expect(noStay.status).toBe(400);
    expect(backendLoads).toBe(0); // refused before any model work
  });

  test('a run that does not exist is a 404 page, and an unknown asset is not served', async () => {
    expect((await app.request('/runs/nope')).status).toBe(404);
    expect((await app.request('/assets/..%2Fpackage.json')).status).toBe(404);
    const plot = await app.request('/assets/plot.umd.min.js');
    expect(plot.status).toBe(200);
    expect(plot.headers.get('content-type')).toMatch(/javascript/);
  });

  test('empty states: no runs, no versions, no ledgers', async () => {
    expect(await (await app.request('/runs')).text()).toContain('No runs in this store yet.');
    expect(await (await app.request('/models')).text()).toContain('No model versions yet.');
    expect(await (await app.request('/ledgers')).text()).toContain('No hospital has a privacy ledger');
    expect(await (await app.request('/calculator')).text()).toContain('No runs yet, so no model to ask.');
  });
});
