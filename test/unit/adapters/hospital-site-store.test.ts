import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { localHospitalSiteStore } from '../../../src/adapters/ledger/local-hospital-ledger';

const sha = (c: string) => c.repeat(64);

describe('BlobHospitalSiteStore (a hospital’s own intercepts, in its state folder)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himas-site-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one record per update sent, by run, hospital, round and hash, and never rewrites one', async () => {
    const site = localHospitalSiteStore(dir);
    expect(await site.interceptOf('run-a', 'h1', 1, sha('a'))).toBeNull();
    await site.saveIntercept('run-a', 'h1', 1, sha('a'), -2.5);
    await site.saveIntercept('run-a', 'h1', 1, sha('b'), 4); // a retry's update, another hash
    await site.saveIntercept('run-b', 'h1', 1, sha('a'), 7);
    await site.saveIntercept('run-a', 'h2', 1, sha('a'), 3);
    expect(await site.interceptOf('run-a', 'h1', 1, sha('a'))).toBe(-2.5);
    expect(await site.interceptOf('run-a', 'h1', 1, sha('b'))).toBe(4);
    expect(await site.interceptOf('run-b', 'h1', 1, sha('a'))).toBe(7);
    expect(await site.interceptOf('run-a', 'h2', 1, sha('a'))).toBe(3);
    expect(await site.interceptOf('run-a', 'h1', 2, sha('a'))).toBeNull();
    // Append-only: the same update's record is created once; a second save changes nothing.
    await site.saveIntercept('run-a', 'h1', 1, sha('a'), 99);
    expect(await site.interceptOf('run-a', 'h1', 1, sha('a'))).toBe(-2.5);
  });

  it('refuses bad values and ids, and names the file and what to do when it is corrupt or not its own', async () => {
    const site = localHospitalSiteStore(dir);
    await expect(site.saveIntercept('run-a', 'h1', 0, sha('a'), 1)).rejects.toThrow(/round ≥ 1, got 0/);
    await expect(site.saveIntercept('run-a', 'h1', 1, sha('a'), Number.NaN)).rejects.toThrow(
      /must be finite/,
    );
    await expect(site.saveIntercept('run-a', 'h1', 1, 'abc', 1)).rejects.toThrow(/bad update hash/);
    await expect(site.interceptOf('../run', 'h1', 1, sha('a'))).rejects.toThrow(/bad run id/);
    await site.saveIntercept('run-a', 'h1', 1, sha('a'), 1);
    const file = path.join(dir, 'site', 'h1', 'run-a', `000001-${sha('a')}.json`);
    writeFileSync(file, '{"runId": "run-a", "hosp');
    await expect(site.interceptOf('run-a', 'h1', 1, sha('a'))).rejects.toThrow(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not JSON .*restore it from a backup, or delete it`,
      ),
    );
    // Another hospital's record copied over this one's is refused, not used.
    writeFileSync(
      file,
      JSON.stringify({ runId: 'run-a', hospitalId: 'h2', round: 1, updateSha256: sha('a'), intercept: 3 }),
    );
    await expect(site.interceptOf('run-a', 'h1', 1, sha('a'))).rejects.toThrow(
      /not the site intercept of h1's round 1 update in run run-a/,
    );
  });
});
