import { SignedLedgerEntrySchema, type SignedLedgerEntry } from '../../../schemas/privacy-ledger';
import type { BlobStore } from '../../ports/blob-store';
import { NotFoundError } from '../../ports/errors';
import type { HospitalLedgerStore } from '../../ports/hospital-ledger-store';
import { deepFreeze } from '../../runtime/deep-freeze';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Numbers probed past the first missing one, to tell a lost entry from the end. */
const GAP_PROBES = 3;
/**
 * An entry is served from memory only if its object last changed longer ago than this: a change
 * within one tick of a file system's clock (4-10 ms on Linux, 2 s on FAT) can leave size, mtime
 * and ctime as they were, so a fresh entry is read again until its fingerprint can be trusted
 * (git's "racy clean" rule).
 */
const SETTLED_MS = 2_000;

interface ParsedEntry {
  fingerprint: string;
  entry: SignedLedgerEntry;
}

/**
 * Entries already read and parsed, per blob store (so every ledger object on one store shares
 * them) and entry path. Each is used again only while its object's fingerprint is unchanged, so an
 * entry deleted, replaced or altered in place is read afresh (and then fails as it would have).
 */
const parsedEntries = new WeakMap<BlobStore, Map<string, ParsedEntry>>();

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
    /** How long an entry's object must have been unchanged before its parsed copy is reused. */
    private readonly settledMs = SETTLED_MS,
  ) {}

  describe(hospitalId: string): string {
    return `${this.location}/${this.prefix(hospitalId)}`;
  }

  /**
   * Reads entry 0, 1, 2, … by name until the first missing number, with no listing: Cloud Storage
   * checks a list at bucket level, where per-hospital IAM conditions on object names cannot grant
   * it, while a get of a named object can be granted to exactly one hospital's prefix. A few
   * numbers past the end are probed too, so a lost entry in the middle is caught, not read as the end.
   */
  async read(hospitalId: string): Promise<SignedLedgerEntry[]> {
    const entries: SignedLedgerEntry[] = [];
    for (let sequence = 0; ; sequence++) {
      const entry = await this.readEntry(hospitalId, sequence);
      if (entry === undefined) break;
      entries.push(entry);
    }
    for (let ahead = 1; ahead <= GAP_PROBES; ahead++) {
      const later = entries.length + ahead;
      if (await this.exists(this.entryPath(hospitalId, later)))
        throw new LedgerCorruptError(
          `privacy ledger ${this.describe(hospitalId)} has no entry ${entries.length} but has entry ${later}: an entry was lost; refusing to under-count`,
        );
    }
    return entries;
  }

  /**
   * Entry `sequence`, or undefined when it does not exist. On a store that fingerprints its
   * objects, an entry parsed before is reused while its fingerprint (taken before the bytes are
   * read) is unchanged and old enough to be trusted; every other entry is read and checked.
   */
  private async readEntry(hospitalId: string, sequence: number): Promise<SignedLedgerEntry | undefined> {
    const entryPath = this.entryPath(hospitalId, sequence);
    if (this.blobs.fingerprint === undefined) {
      const bytes = await this.getOrUndefined(entryPath);
      return bytes === undefined ? undefined : this.parse(hospitalId, sequence, bytes);
    }
    const seenAt = Date.now();
    const fingerprint = await this.blobs.fingerprint(entryPath);
    if (fingerprint === undefined) return undefined;
    let parsed = parsedEntries.get(this.blobs);
    if (!parsed) {
      parsed = new Map();
      parsedEntries.set(this.blobs, parsed);
    }
    const known = parsed.get(entryPath);
    if (known?.fingerprint === fingerprint.id) return known.entry;
    const bytes = await this.getOrUndefined(entryPath);
    if (bytes === undefined) return undefined;
    const entry = deepFreeze(this.parse(hospitalId, sequence, bytes));
    if (seenAt - fingerprint.changedAtMs >= this.settledMs)
      parsed.set(entryPath, { fingerprint: fingerprint.id, entry });
    else parsed.delete(entryPath);
    return entry;
  }

  private async exists(entryPath: string): Promise<boolean> {
    if (this.blobs.fingerprint !== undefined) return (await this.blobs.fingerprint(entryPath)) !== undefined;
    return (await this.getOrUndefined(entryPath)) !== undefined;
  }

  private async getOrUndefined(path: string): Promise<Uint8Array | undefined> {
    try {
      return await this.blobs.get(path);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  private parse(hospitalId: string, sequence: number, bytes: Uint8Array): SignedLedgerEntry {
    const name = `${this.location}/${this.entryPath(hospitalId, sequence)}`;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (error) {
      throw new LedgerCorruptError(
        `privacy ledger entry ${name} is not JSON (${(error as Error).message}); refusing to under-count`,
      );
    }
    const parsed = SignedLedgerEntrySchema.safeParse(json);
    if (
      !parsed.success ||
      parsed.data.entry.sequence !== sequence ||
      parsed.data.entry.hospitalId !== hospitalId
    )
      throw new LedgerCorruptError(
        `privacy ledger entry ${name} is malformed${parsed.success ? ' (wrong number or hospital)' : `: ${parsed.error.issues[0]?.message}`}; refusing to under-count`,
      );
    return parsed.data;
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
