import { paths, RunDocumentSchema, type RunDocument } from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';

/**
 * Sets the run's halt flag unless it is already set: the first reason to stop a run is the one the
 * workflow reports, and a redelivered event does not rewrite it. Resolves to true when this call
 * set it.
 */
export async function haltRunOnce(
  documents: DocumentStore,
  runId: string,
  halt: NonNullable<RunDocument['halt']>,
): Promise<boolean> {
  return documents.runTransaction(async (tx) => {
    const data = await tx.get(paths.run(runId));
    if (!data) return false;
    const run = RunDocumentSchema.parse(data);
    if (run.halt !== null) return false;
    tx.update(paths.run(runId), { halt, updatedAt: halt.at });
    return true;
  });
}
