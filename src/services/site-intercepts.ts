import { UpdateReceiptSchema, paths } from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';
import type { HospitalSiteStore } from '../ports/hospital-site-store';
import { readRound } from './run-documents';

/**
 * The intercept a hospital uses as of `round` of a run (site intercepts, issue 14): the one it kept
 * with its update in the latest closed round ≤ `round` whose aggregate included that update. A
 * round it missed, an update that arrived late or was rejected, or an attempt that crashed before
 * its update went out leaves the intercept of the round before; none at all: null (the shared
 * model's intercept). Reads its own store by the receipt's hash, so what it trains from matches
 * what the aggregate took from it.
 */
export async function ownInterceptAsOf(
  deps: { documents: Pick<DocumentStore, 'get' | 'getParsed'>; site: HospitalSiteStore },
  runId: string,
  hospitalId: string,
  round: number,
): Promise<number | null> {
  for (let k = round; k >= 1; k--) {
    const doc = await readRound(deps.documents, runId, k);
    if (doc?.status !== 'closed' || !doc.participants.includes(hospitalId)) continue;
    const receipt = UpdateReceiptSchema.safeParse(
      await deps.documents.get(paths.update(runId, k, hospitalId)),
    );
    if (!receipt.success || receipt.data.status !== 'accepted') continue;
    const intercept = await deps.site.interceptOf(runId, hospitalId, k, receipt.data.sha256);
    if (intercept !== null) return intercept;
  }
  return null;
}
