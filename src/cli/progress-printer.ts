import { metricsFromHistogram } from '../core/evaluation/pooled-metrics';
import {
  HospitalEvaluationSchema,
  paths,
  UpdateReceiptSchema,
  type RoundDocument,
} from '../../schemas/documents';
import type { DocumentStore } from '../ports/document-store';
import { fmt } from './format-metrics';

/**
 * Human progress on stderr while a run trains: one block per round with each hospital's training
 * loss (hidden under DP-SGD, where it is not private), the AUROC its test split gave the model it
 * started from, and the round's time; plus the workflow's own log lines.
 */
export function progressPrinter(documents: DocumentStore, rounds: number, write: (line: string) => void) {
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  return {
    line: (text: string) => write(`[${elapsed()}] ${text}`),
    async roundEnded(doc: RoundDocument): Promise<void> {
      const receipts = (await documents.list(paths.updates(doc.runId, doc.round))).map((s) =>
        UpdateReceiptSchema.parse(s.data),
      );
      const evaluations = new Map(
        (await documents.list(paths.evaluations(doc.baseModelVersionId))).map((s) => {
          const e = HospitalEvaluationSchema.parse(s.data);
          return [e.hospitalId, metricsFromHistogram(e.histogram)] as const;
        }),
      );
      const seconds = doc.closedAt
        ? (new Date(doc.closedAt).getTime() - new Date(doc.openedAt).getTime()) / 1000
        : 0;
      const outcome =
        doc.status === 'closed'
          ? `closed → ${doc.modelVersionId}`
          : `${doc.status}${doc.failureReason ? `: ${doc.failureReason}` : ''}`;
      write(`[${elapsed()}] round ${doc.round}/${rounds} ${outcome} (${seconds.toFixed(1)} s)`);
      for (const hospitalId of doc.expectedHospitals) {
        const r = receipts.find((x) => x.hospitalId === hospitalId);
        const loss = r?.trainLoss === null ? 'DP-SGD' : `loss ${fmt(r?.trainLoss, 4)}`;
        const state = !r ? 'no update' : r.status === 'accepted' ? loss : `rejected: ${r.reason}`;
        write(
          `    ${hospitalId.padEnd(22)} ${state.padEnd(16)}${evaluations.has(hospitalId) ? ` AUROC of start model ${fmt(evaluations.get(hospitalId)?.auroc)} (noisy)` : ''}`,
        );
      }
    },
  };
}
