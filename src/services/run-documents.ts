import {
  paths,
  RoundDocumentSchema,
  RunDocumentSchema,
  type RoundDocument,
  type RunDocument,
} from '../../schemas/documents';
import type { z } from 'zod';
import type { DocumentStore } from '../ports/document-store';
import { deepFreeze } from '../runtime/deep-freeze';

/**
 * Validated documents by their JSON text, most recent last. A run document lists every hospital
 * (and its declared stays), a round document every expected one: validating one is O(K), and every
 * job and every delivery reads both, which made a round O(K²) (K = 1,000: 15 % of the round in
 * readRun's zod parse). The same text always validates to the same document, so that result is
 * shared, frozen, while the stored text is unchanged; any change is a new text, validated afresh.
 */
const MAX_REMEMBERED = 16;
const validated = new Map<string, unknown>();

function parseRemembered<S extends z.ZodType>(schema: S, kind: string, data: unknown): z.output<S> {
  const key = `${kind}\n${JSON.stringify(data)}`;
  const known = validated.get(key);
  if (known !== undefined) {
    validated.delete(key);
    validated.set(key, known);
    return known as z.output<S>;
  }
  const parsed = deepFreeze(schema.parse(data) as z.output<S>);
  validated.set(key, parsed);
  if (validated.size > MAX_REMEMBERED) validated.delete(validated.keys().next().value as string);
  return parsed;
}

/** Reads (and validates) a run document, frozen; undefined when there is none. */
export async function readRun(
  documents: Pick<DocumentStore, 'get'>,
  runId: string,
): Promise<RunDocument | undefined> {
  const data = await documents.get(paths.run(runId));
  return data ? parseRemembered(RunDocumentSchema, 'run', data) : undefined;
}

/** Reads (and validates) a round document, frozen; undefined when the round was never opened. */
export async function readRound(
  documents: Pick<DocumentStore, 'get'>,
  runId: string,
  round: number,
): Promise<RoundDocument | undefined> {
  const data = await documents.get(paths.round(runId, round));
  return data ? parseRemembered(RoundDocumentSchema, 'round', data) : undefined;
}
