import { paths, RoundDocumentSchema, UpdateReceiptSchema, type RunDocument } from '../../schemas/documents';
import { judgeRun, type RunVerdict } from '../core/agents/run-verdict';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';

/** The verdict on a run (src/core/agents/run-verdict.ts) from what the store holds about it. */
export async function readRunVerdict(
  documents: Pick<DocumentStore, 'list'>,
  models: Pick<ModelRegistry, 'list'>,
  run: RunDocument,
): Promise<RunVerdict> {
  const rounds = (await documents.list(paths.rounds(run.runId))).map((s) =>
    RoundDocumentSchema.parse(s.data),
  );
  const versions = await models.list(run.runId);
  return judgeRun({
    runId: run.runId,
    status: run.status,
    plannedRounds: run.config.rounds,
    halt: run.halt,
    rounds,
    versions: versions.map((v) => ({
      versionId: v.versionId,
      round: v.round,
      halted: v.halted,
      pooled: v.pooled && {
        auroc: v.pooled.metrics.auroc,
        loss: v.pooled.metrics.loss,
        aurocInterval: v.pooled.intervals.auroc ?? null,
        lossInterval: v.pooled.intervals.loss ?? null,
      },
    })),
    lastTrainingLoss: await lastTrainingLoss(documents, run, rounds),
  });
}

/** The hospitals' mean training loss in the last closed round (released only without DP-SGD). */
async function lastTrainingLoss(
  documents: Pick<DocumentStore, 'list'>,
  run: RunDocument,
  rounds: ReadonlyArray<{ round: number; status: string }>,
): Promise<number | null> {
  const last = [...rounds].reverse().find((r) => r.status === 'closed');
  if (!last) return null;
  const losses = (await documents.list(paths.updates(run.runId, last.round)))
    .map((s) => UpdateReceiptSchema.parse(s.data))
    .filter((r) => r.status === 'accepted' && r.trainLoss !== null)
    .map((r) => r.trainLoss!);
  return losses.length === 0 ? null : losses.reduce((a, b) => a + b, 0) / losses.length;
}
