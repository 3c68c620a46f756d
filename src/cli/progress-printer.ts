import { HospitalEvaluationSchema, paths, UpdateReceiptSchema } from '../../schemas/documents';
import type { DriverProgress } from '../local/training-driver';
import type { DocumentStore } from '../ports/document-store';
import { fmt } from './format-metrics';

/**
 * Human progress on stderr while a run trains: one block per round with each hospital's training
 * loss, the AUROC its test split gave the model it started from, and the round's time.
 */
export function progressPrinter(documents: DocumentStore, write: (line: string) => void) {
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  return async (p: DriverProgress): Promise<void> => {
    if (p.kind === 'phase') write(`[${elapsed()}] ${p.message}`);
    else if (p.kind === 'job' && p.result.status === 'failed')
      write(
        `[${elapsed()}] ! ${p.result.jobName} failed after ${p.result.attempts} attempt(s): ${p.result.error}`,
      );
    else if (p.kind === 'halted') write(`[${elapsed()}] run halted: ${p.reason}`);
    else if (p.kind === 'round') {
      const { doc } = p;
      const receipts = (await documents.list(paths.updates(doc.runId, doc.round))).map((s) =>
        UpdateReceiptSchema.parse(s.data),
      );
      const evaluations = new Map(
        (await documents.list(paths.evaluations(doc.baseModelVersionId))).map((s) => {
          const e = HospitalEvaluationSchema.parse(s.data);
          return [e.hospitalId, e.metrics] as const;
        }),
      );
      const outcome =
        doc.status === 'closed'
          ? `closed → ${doc.modelVersionId}`
          : `${doc.status}${doc.failureReason ? `: ${doc.failureReason}` : ''}`;
      write(`[${elapsed()}] round ${p.round}/${p.rounds} ${outcome} (${p.seconds.toFixed(1)} s)`);
      for (const hospitalId of doc.expectedHospitals) {
        const r = receipts.find((x) => x.hospitalId === hospitalId);
        const state = !r
          ? 'no update'
          : r.status === 'accepted'
            ? `loss ${fmt(r.trainLoss, 4)}`
            : `rejected: ${r.reason}`;
        write(
          `    ${hospitalId.padEnd(22)} ${state.padEnd(16)} AUROC of start model ${fmt(evaluations.get(hospitalId)?.auroc)}   ${r ? `${r.trainSeconds.toFixed(1)} s` : ''}`,
        );
      }
    }
  };
}
