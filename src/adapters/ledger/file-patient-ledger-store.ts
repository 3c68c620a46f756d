import { access, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { PatientLedgerEntrySchema, type PatientLedgerEntry } from '../../../schemas/patient-ledger';
import type { PatientLedgerStore } from '../../ports/patient-ledger-store';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * One JSON file per entry under `<dir>/<hospital>/<cohort fingerprint>/`. An entry is written to a
 * temporary file, fsynced and renamed into place, so after a crash it is either whole or absent
 * (never half a charge); entries are never rewritten.
 */
export class FilePatientLedgerStore implements PatientLedgerStore {
  constructor(private readonly dir: string) {}

  describe(hospitalId: string, cohortFingerprint: string): string {
    return this.folder(hospitalId, cohortFingerprint);
  }

  async read(hospitalId: string, cohortFingerprint: string): Promise<PatientLedgerEntry[]> {
    const folder = this.folder(hospitalId, cohortFingerprint);
    const entries: Array<{ name: string; entry: PatientLedgerEntry }> = [];
    for (const name of await listOrEmpty(folder)) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(folder, name);
      const parsed = PatientLedgerEntrySchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      // A ledger that cannot be read cannot be enforced: refuse rather than under-count.
      if (!parsed.success)
        throw new Error(`privacy ledger entry ${file} is malformed: ${parsed.error.message}`);
      entries.push({ name, entry: parsed.data });
    }
    entries.sort(
      (a, b) => a.entry.chargedAt.localeCompare(b.entry.chargedAt) || a.name.localeCompare(b.name),
    );
    return entries.map((e) => e.entry);
  }

  async append(hospitalId: string, cohortFingerprint: string, entry: PatientLedgerEntry): Promise<void> {
    const folder = this.folder(hospitalId, cohortFingerprint);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const name = `${entry.runId}.r${String(entry.round).padStart(4, '0')}.${entry.attempt}.json`;
    if (!SAFE_NAME.test(name)) throw new Error(`bad ledger entry name ${name}`);
    const temporary = path.join(folder, `.${name}.tmp`);
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(PatientLedgerEntrySchema.parse(entry)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    const final = path.join(folder, name);
    // rename() would silently replace an entry: a charge once written is never rewritten.
    if (await exists(final)) {
      await unlink(temporary);
      throw new Error(`privacy ledger entry ${final} already exists; entries are never rewritten`);
    }
    await rename(temporary, final);
    const directory = await open(folder, 'r');
    try {
      await directory.sync(); // the rename itself survives a power loss
    } finally {
      await directory.close();
    }
  }

  async cohorts(): Promise<Array<{ hospitalId: string; cohortFingerprint: string }>> {
    const out: Array<{ hospitalId: string; cohortFingerprint: string }> = [];
    for (const hospitalId of (await listOrEmpty(this.dir)).sort()) {
      for (const cohortFingerprint of (await listOrEmpty(path.join(this.dir, hospitalId))).sort())
        out.push({ hospitalId, cohortFingerprint });
    }
    return out;
  }

  private folder(hospitalId: string, cohortFingerprint: string): string {
    if (!SAFE_NAME.test(hospitalId)) throw new Error(`bad hospital id for a ledger folder: ${hospitalId}`);
    if (!/^[0-9a-f]{64}$/.test(cohortFingerprint))
      throw new Error(`bad cohort fingerprint ${cohortFingerprint}: expected a sha256 in hex`);
    return path.join(this.dir, hospitalId, cohortFingerprint);
  }
}

async function listOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Where a local cohort's hospitals keep their ledgers: beside the cohort files they belong to. */
export function patientLedgerDir(cohortDir: string): string {
  return path.join(cohortDir, 'privacy-ledger');
}
