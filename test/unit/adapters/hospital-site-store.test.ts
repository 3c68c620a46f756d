import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { localHospitalSiteStore } from '../../../src/adapters/ledger/local-hospital-ledger';

describe('BlobHospitalSiteStore (a hospital’s own intercepts, in its state folder)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himas-site-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers the latest round at or before the one asked, per run and hospital; a retry replaces its round', async () => {
    const site = localHospitalSiteStore(dir);
    expect(await site.interceptAt('run-a', 'h1', 5)).toBeNull();
    await site.saveIntercept('run-a', 'h1', 1, -2.5);
    await site.saveIntercept('run-a', 'h1', 3, -1.25);
    await site.saveIntercept('run-b', 'h1', 2, 7);
    await site.saveIntercept('run-a', 'h2', 2, 4);
    expect(await site.interceptAt('run-a', 'h1', 0)).toBeNull();
    expect(await site.interceptAt('run-a', 'h1', 2)).toEqual({ round: 1, intercept: -2.5 });
    expect(await site.interceptAt('run-a', 'h1', 9)).toEqual({ round: 3, intercept: -1.25 });
    await site.saveIntercept('run-a', 'h1', 3, 0.5);
    expect(await site.interceptAt('run-a', 'h1', 3)).toEqual({ round: 3, intercept: 0.5 });
    // Round 10 sorts after 9 as a number, not before 2 as text.
    await site.saveIntercept('run-a', 'h1', 10, 1);
    expect(await site.interceptAt('run-a', 'h1', 9)).toEqual({ round: 3, intercept: 0.5 });
    expect(await site.interceptAt('run-a', 'h1', 10)).toEqual({ round: 10, intercept: 1 });
    expect(await site.interceptAt('run-b', 'h1', 9)).toEqual({ round: 2, intercept: 7 });
  });

  it('refuses bad values and ids, and names the file and what to do when it is corrupt or not its own', async () => {
    const site = localHospitalSiteStore(dir);
    await expect(site.saveIntercept('run-a', 'h1', 0, 1)).rejects.toThrow(/round ≥ 1, got 0/);
    await expect(site.saveIntercept('run-a', 'h1', 1, Number.NaN)).rejects.toThrow(/must be finite/);
    await expect(site.interceptAt('../run', 'h1', 1)).rejects.toThrow(/bad run id/);
    await site.saveIntercept('run-a', 'h1', 1, 1);
    const file = path.join(dir, 'site', 'h1', 'run-a', 'intercepts.json');
    writeFileSync(file, '{"runId": "run-a", "hosp');
    await expect(site.interceptAt('run-a', 'h1', 1)).rejects.toThrow(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not JSON .*restore it from a backup, or delete it`,
      ),
    );
    // Another hospital's intercepts copied over this one's are refused, not used.
    writeFileSync(file, JSON.stringify({ runId: 'run-a', hospitalId: 'h2', intercepts: { '1': 3 } }));
    await expect(site.interceptAt('run-a', 'h1', 1)).rejects.toThrow(
      /not the site intercepts of h1 in run run-a/,
    );
    await expect(site.saveIntercept('run-a', 'h1', 2, 1)).rejects.toThrow(/not the site intercepts of h1/);
  });
});
