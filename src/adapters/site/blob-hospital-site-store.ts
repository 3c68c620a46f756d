import { z } from 'zod';
import type { BlobStore } from '../../ports/blob-store';
import type { HospitalSiteStore, SiteIntercept } from '../../ports/hospital-site-store';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const SiteInterceptsSchema = z.object({
  runId: z.string(),
  hospitalId: z.string(),
  /** Round (as a decimal string) → the intercept trained in it. */
  intercepts: z.record(z.string().regex(/^[1-9][0-9]*$/), z.number().finite()),
});
type SiteIntercepts = z.infer<typeof SiteInterceptsSchema>;

/**
 * One object per hospital and run, `<root>/<hospital>/<run>/intercepts.json`, on the hospital's
 * own BlobStore (the one its ledger uses). Read by name, never listed: like the ledger, a get of a
 * named object can be granted to exactly one hospital's prefix, a bucket listing cannot. One
 * object, rewritten whole (puts are atomic): a round's job is the only writer of its hospital's
 * object while the round is open.
 */
export class BlobHospitalSiteStore implements HospitalSiteStore {
  /** `location` names the store in messages, e.g. `gs://himas-h1-ledger` or a folder. */
  constructor(
    private readonly blobs: BlobStore,
    private readonly location: string,
    private readonly root = 'site',
  ) {}

  describe(hospitalId: string): string {
    return `${this.location}/${this.root}/${safe(hospitalId, 'hospital')}/`;
  }

  async interceptAt(runId: string, hospitalId: string, round: number): Promise<SiteIntercept | null> {
    const stored = await this.read(runId, hospitalId);
    let latest: SiteIntercept | null = null;
    for (const [key, intercept] of Object.entries(stored?.intercepts ?? {})) {
      const trainedIn = Number(key);
      if (trainedIn <= round && (latest === null || trainedIn > latest.round))
        latest = { round: trainedIn, intercept };
    }
    return latest;
  }

  async saveIntercept(runId: string, hospitalId: string, round: number, intercept: number): Promise<void> {
    if (!Number.isInteger(round) || round < 1)
      throw new RangeError(`a site intercept is trained in a round ≥ 1, got ${round}`);
    if (!Number.isFinite(intercept)) throw new RangeError(`site intercept must be finite, got ${intercept}`);
    const stored = (await this.read(runId, hospitalId)) ?? { runId, hospitalId, intercepts: {} };
    const next: SiteIntercepts = {
      ...stored,
      intercepts: { ...stored.intercepts, [String(round)]: intercept },
    };
    await this.blobs.put(this.path(runId, hospitalId), Buffer.from(JSON.stringify(next)), {
      contentType: 'application/json',
    });
  }

  private async read(runId: string, hospitalId: string): Promise<SiteIntercepts | null> {
    const at = this.path(runId, hospitalId);
    if (!(await this.blobs.stat(at))) return null;
    const text = Buffer.from(await this.blobs.get(at)).toString('utf8');
    let parsed: ReturnType<typeof SiteInterceptsSchema.safeParse>;
    try {
      parsed = SiteInterceptsSchema.safeParse(JSON.parse(text));
    } catch (error) {
      throw new Error(`${this.where(at)}: not JSON (${(error as Error).message}); ${REPAIR}`);
    }
    if (!parsed.success || parsed.data.runId !== runId || parsed.data.hospitalId !== hospitalId)
      throw new Error(
        `${this.where(at)}: not the site intercepts of ${hospitalId} in run ${runId}; ${REPAIR}`,
      );
    return parsed.data;
  }

  private where(at: string): string {
    return this.blobs.locate?.(at) ?? `${this.location}/${at}`;
  }

  private path(runId: string, hospitalId: string): string {
    return `${this.root}/${safe(hospitalId, 'hospital')}/${safe(runId, 'run')}/intercepts.json`;
  }
}

const REPAIR =
  'restore it from a backup, or delete it to let the hospital train its intercept again from the shared one (its next round starts over from there)';

function safe(id: string, what: string): string {
  if (!SAFE_ID.test(id)) throw new Error(`bad ${what} id for site state: ${id}`);
  return id;
}
