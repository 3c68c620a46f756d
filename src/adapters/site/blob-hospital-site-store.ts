import { z } from 'zod';
import type { BlobStore } from '../../ports/blob-store';
import type { HospitalSiteStore } from '../../ports/hospital-site-store';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const SiteInterceptSchema = z.object({
  runId: z.string(),
  hospitalId: z.string(),
  round: z.number().int().min(1),
  updateSha256: z.string(),
  intercept: z.number().finite(),
});
type SiteInterceptRecord = z.infer<typeof SiteInterceptSchema>;

/**
 * One object per update sent, `<root>/<hospital>/<run>/<round, 6 digits>-<update sha256>.json`, on
 * the hospital's own BlobStore (the one its ledger uses), created once and never rewritten (in the
 * cloud the job's role there is create-only). Read by name, never listed: like the ledger, a get
 * of a named object can be granted to exactly one hospital's prefix, a bucket listing cannot.
 */
export class BlobHospitalSiteStore implements HospitalSiteStore {
  /** `location` names the store in messages, e.g. `gs://himas-h1-cohort` or a folder. */
  constructor(
    private readonly blobs: BlobStore,
    private readonly location: string,
    private readonly root = 'site',
  ) {}

  describe(hospitalId: string): string {
    return `${this.location}/${this.root}/${safe(hospitalId, 'hospital')}/`;
  }

  async saveIntercept(
    runId: string,
    hospitalId: string,
    round: number,
    updateSha256: string,
    intercept: number,
  ): Promise<void> {
    if (!Number.isFinite(intercept)) throw new RangeError(`site intercept must be finite, got ${intercept}`);
    const record: SiteInterceptRecord = { runId, hospitalId, round, updateSha256, intercept };
    // null: this update's record is already there (a re-sent update): it stays as it was.
    await this.blobs.create(
      this.path(runId, hospitalId, round, updateSha256),
      Buffer.from(JSON.stringify(record)),
      {
        contentType: 'application/json',
      },
    );
  }

  async interceptOf(
    runId: string,
    hospitalId: string,
    round: number,
    updateSha256: string,
  ): Promise<number | null> {
    const at = this.path(runId, hospitalId, round, updateSha256);
    if (!(await this.blobs.stat(at))) return null;
    const text = Buffer.from(await this.blobs.get(at)).toString('utf8');
    let parsed: ReturnType<typeof SiteInterceptSchema.safeParse>;
    try {
      parsed = SiteInterceptSchema.safeParse(JSON.parse(text));
    } catch (error) {
      throw new Error(`${this.where(at)}: not JSON (${(error as Error).message}); ${REPAIR}`);
    }
    const r = parsed.success ? parsed.data : null;
    if (
      !r ||
      r.runId !== runId ||
      r.hospitalId !== hospitalId ||
      r.round !== round ||
      r.updateSha256 !== updateSha256
    )
      throw new Error(
        `${this.where(at)}: not the site intercept of ${hospitalId}'s round ${round} update in run ${runId}; ${REPAIR}`,
      );
    return r.intercept;
  }

  private where(at: string): string {
    return this.blobs.locate?.(at) ?? `${this.location}/${at}`;
  }

  private path(runId: string, hospitalId: string, round: number, updateSha256: string): string {
    if (!Number.isInteger(round) || round < 1)
      throw new RangeError(`a site intercept is trained in a round ≥ 1, got ${round}`);
    if (!SHA256_HEX.test(updateSha256)) throw new Error(`bad update hash for site state: ${updateSha256}`);
    const name = `${String(round).padStart(6, '0')}-${updateSha256}.json`;
    return `${this.root}/${safe(hospitalId, 'hospital')}/${safe(runId, 'run')}/${name}`;
  }
}

const REPAIR =
  'restore it from a backup, or delete it: the hospital then uses its intercept of the round before (or the shared one) and trains on from there';

function safe(id: string, what: string): string {
  if (!SAFE_ID.test(id)) throw new Error(`bad ${what} id for site state: ${id}`);
  return id;
}
