import {
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  type RoundDocument,
  type RunDocument,
} from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';
import { deepFreeze } from '../runtime/deep-freeze';

/**
 * Run and round documents come back validated and frozen. Both list every hospital, and every job
 * and every delivery reads them: a store that can (the embedded one, `getParsed`) hands back the
 * same validated document while the stored text is unchanged, instead of validating O(K) again.
 */
const parseRun = (data: unknown): RunDocument => deepFreeze(RunDocumentSchema.parse(data));
const parseRound = (data: unknown): RoundDocument => deepFreeze(RoundDocumentSchema.parse(data));

async function readParsed<T>(
  documents: Pick<DocumentStore, 'get' | 'getParsed'>,
  path: string,
  parse: (data: unknown) => T,
): Promise<T | undefined> {
  if (documents.getParsed) return documents.getParsed(path, parse);
  const data = await documents.get(path);
  return data ? parse(data) : undefined;
}

/** Reads (and validates) a run document, frozen; undefined when there is none. */
export async function readRun(
  documents: Pick<DocumentStore, 'get' | 'getParsed'>,
  runId: string,
): Promise<RunDocument | undefined> {
  return readParsed(documents, paths.run(runId), parseRun);
}

/** Reads (and validates) a round document, frozen; undefined when the round was never opened. */
export async function readRound(
  documents: Pick<DocumentStore, 'get' | 'getParsed'>,
  runId: string,
  round: number,
): Promise<RoundDocument | undefined> {
  return readParsed(documents, paths.round(runId, round), parseRound);
}
