import { SignedLedgerEntrySchema, type SignedLedgerEntry } from '../../../schemas/privacy-ledger';
import type { BlobStore } from '../../ports/blob-store';
import type { HospitalLedgerStore } from '../../ports/hospital-ledger-store';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A hospital ledger as one object per entry, `<root>/<hospital>/<sequence, 8 digits>.json`, on any
 * BlobStore: locally a folder the hospital owns (FileBlobStore), in the cloud the hospital's own
 * bucket (a Cloud Run job's cohort volume is read-only, and an object create with
 * ifGenerationMatch = 0 is atomic, which a FUSE rename is not). The same layout is the public
 * mirror in the shared store (`ledgers/<hospital>/…`) that the aggregator, the privacy guardian
 * and auditors read: entries are signed and chained, so a copy proves itself.
 */
export class BlobHospitalLedgerStore implements HospitalLedgerStore {
  /** `location` names the store in messages, e.g. `gs://himas-h1-ledger` or a folder. */
  constructor(
    private readonly blobs: BlobStore,
    private readonly location: string,
    private readonly root = 'ledgers',
  ) {}

  describe(hospitalId: string): string {
    return `${this.location}/${this.prefix(hospitalId)}`;
  }

  async read(hospitalId: string): Promise<SignedLedgerEntry[]> {
    const names = (await this.blobs.list(this.prefix(hospitalId))).filter((name) => name.endsWith('.json'));
    const entries: SignedLedgerEntry[] = [];
    for (const [index, name] of names.entries()) {
      const expected = this.entryPath(hospitalId, index);
      // A gap means an entry was lost: a ledger that cannot be read whole cannot be enforced.
      if (name !== expected)
        throw new LedgerCorruptError(
          `privacy ledger ${this.describe(hospitalId)} has no entry ${index} (found ${name}): refusing to under-count`,
        );
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(await this.blobs.get(name)).toString('utf8'));
      } catch (error) {
        throw new LedgerCorruptError(
          `privacy ledger entry ${this.location}/${name} is not JSON (${(error as Error).message}); refusing to under-count`,
        );
      }
      const parsed = SignedLedgerEntrySchema.safeParse(json);
      if (!parsed.success || parsed.data.entry.sequence !== index || parsed.data.entry.hospitalId !== hospitalId)
        throw new LedgerCorruptError(
          `privacy ledger entry ${this.location}/${name} is malformed${parsed.success ? ' (wrong number or hospital)' : `: ${parsed.error.issues[0]?.message}`}; refusing to under-count`,
        );
      entries.push(parsed.data);
    }
    return entries;
  }

  async append(hospitalId: string, signed: SignedLedgerEntry): Promise<boolean> {
    const parsed = SignedLedgerEntrySchema.parse(signed);
    if (parsed.entry.hospitalId !== hospitalId)
      throw new Error(`a ledger entry of ${parsed.entry.hospitalId} cannot go into ${hospitalId}'s ledger`);
    const created = await this.blobs.create(
      this.entryPath(hospitalId, parsed.entry.sequence),
      Buffer.from(JSON.stringify(parsed)),
      { contentType: 'application/json' },
    );
    return created !== null;
  }

  async hospitals(): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await this.blobs.list(`${this.root}/`)) {
      const id = name.slice(this.root.length + 1).split('/')[0];
      if (id && SAFE_ID.test(id)) ids.add(id);
    }
    return [...ids].sort();
  }

  private prefix(hospitalId: string): string {
    if (!SAFE_ID.test(hospitalId)) throw new Error(`bad hospital id for a ledger: ${hospitalId}`);
    return `${this.root}/${hospitalId}/`;
  }

  private entryPath(hospitalId: string, sequence: number): string {
    return `${this.prefix(hospitalId)}${String(sequence).padStart(8, '0')}.json`;
  }
}

/** The ledger has a gap or an unreadable entry. */
export class LedgerCorruptError extends Error {}
