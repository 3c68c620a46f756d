import { PatientLedgerEntrySchema, type PatientLedgerEntry } from '../../../schemas/patient-ledger';
import type { BlobStore } from '../../ports/blob-store';
import type { PatientLedgerStore } from '../../ports/patient-ledger-store';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ROOT = 'privacy-ledger';

/**
 * The ledger as one object per entry, `privacy-ledger/<hospital>/<cohort fingerprint>/<entry>.json`,
 * in a blob store the hospital owns: in the cloud its own bucket (a Cloud Run job's cohort volume
 * is read-only, and an object write is all or nothing, which a FUSE rename is not). The job may
 * create objects under the prefix but not delete them (Terraform's IAM condition), so the ledger
 * is append-only for the job too.
 */
export class BlobPatientLedgerStore implements PatientLedgerStore {
  /** `location` names the store in messages, e.g. `gs://himas-h1-cohort`. */
  constructor(
    private readonly blobs: BlobStore,
    private readonly location: string,
  ) {}

  describe(hospitalId: string, cohortFingerprint: string): string {
    return `${this.location}/${this.prefix(hospitalId, cohortFingerprint)}`;
  }

  async read(hospitalId: string, cohortFingerprint: string): Promise<PatientLedgerEntry[]> {
    const entries: Array<{ name: string; entry: PatientLedgerEntry }> = [];
    for (const name of await this.blobs.list(this.prefix(hospitalId, cohortFingerprint))) {
      if (!name.endsWith('.json')) continue;
      const text = Buffer.from(await this.blobs.get(name)).toString('utf8');
      const parsed = PatientLedgerEntrySchema.safeParse(JSON.parse(text));
      // A ledger that cannot be read cannot be enforced: refuse rather than under-count.
      if (!parsed.success)
        throw new Error(
          `privacy ledger entry ${this.location}/${name} is malformed: ${parsed.error.message}`,
        );
      entries.push({ name, entry: parsed.data });
    }
    entries.sort(
      (a, b) => a.entry.chargedAt.localeCompare(b.entry.chargedAt) || a.name.localeCompare(b.name),
    );
    return entries.map((e) => e.entry);
  }

  async append(hospitalId: string, cohortFingerprint: string, entry: PatientLedgerEntry): Promise<void> {
    const name = `${entry.runId}.r${String(entry.round).padStart(4, '0')}.${entry.attempt}.json`;
    if (!SAFE_NAME.test(name)) throw new Error(`bad ledger entry name ${name}`);
    const path = `${this.prefix(hospitalId, cohortFingerprint)}${name}`;
    if (await this.blobs.stat(path))
      throw new Error(
        `privacy ledger entry ${this.location}/${path} already exists; entries are never rewritten`,
      );
    await this.blobs.put(path, Buffer.from(JSON.stringify(PatientLedgerEntrySchema.parse(entry))), {
      contentType: 'application/json',
    });
  }

  async cohorts(): Promise<Array<{ hospitalId: string; cohortFingerprint: string }>> {
    const seen = new Map<string, { hospitalId: string; cohortFingerprint: string }>();
    for (const name of await this.blobs.list(`${ROOT}/`)) {
      const [, hospitalId, cohortFingerprint] = name.split('/');
      if (hospitalId && cohortFingerprint)
        seen.set(`${hospitalId}/${cohortFingerprint}`, { hospitalId, cohortFingerprint });
    }
    return [...seen.values()].sort(
      (a, b) =>
        a.hospitalId.localeCompare(b.hospitalId) || a.cohortFingerprint.localeCompare(b.cohortFingerprint),
    );
  }

  private prefix(hospitalId: string, cohortFingerprint: string): string {
    if (!SAFE_NAME.test(hospitalId)) throw new Error(`bad hospital id for a ledger folder: ${hospitalId}`);
    if (!/^[0-9a-f]{64}$/.test(cohortFingerprint))
      throw new Error(`bad cohort fingerprint ${cohortFingerprint}: expected a sha256 in hex`);
    return `${ROOT}/${hospitalId}/${cohortFingerprint}/`;
  }
}
