import { paths, RoundDocumentSchema, type RoundDocument } from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';

/**
 * Watches a run's round documents and reports each round once when it ends (closed or failed).
 * The CLI shows progress this way, the way an operator watches Firestore in the Console: it
 * depends only on the documents, not on which driver (workflow or otherwise) moves the run.
 */
export function watchRounds(
  documents: DocumentStore,
  runId: string,
  onRoundEnd: (doc: RoundDocument) => Promise<void>,
  intervalMs = 200,
): { stop(): Promise<void> } {
  const reported = new Set<number>();
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  const check = async () => {
    const rounds = (await documents.list(paths.rounds(runId))).map((s) => RoundDocumentSchema.parse(s.data));
    for (const doc of rounds.sort((a, b) => a.round - b.round)) {
      if (reported.has(doc.round) || (doc.status !== 'closed' && doc.status !== 'failed')) continue;
      reported.add(doc.round);
      await onRoundEnd(doc);
    }
  };
  const timer = setInterval(() => {
    if (!stopped) chain = chain.then(check).catch(() => undefined);
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
      await check(); // report rounds that ended since the last tick
    },
  };
}
