import {
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  type RoundDocument,
  type RunDocument,
} from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';

/** Reads (and validates) a run document; undefined when there is none. */
export async function readRun(
  documents: Pick<DocumentStore, 'get'>,
  runId: string,
): Promise<RunDocument | undefined> {
  const data = await documents.get(paths.run(runId));
  return data ? RunDocumentSchema.parse(data) : undefined;
}

/** Reads (and validates) a round document; undefined when the round was never opened. */
export async function readRound(
  documents: Pick<DocumentStore, 'get'>,
  runId: string,
  round: number,
): Promise<RoundDocument | undefined> {
  const data = await documents.get(paths.round(runId, round));
  return data ? RoundDocumentSchema.parse(data) : undefined;
}
