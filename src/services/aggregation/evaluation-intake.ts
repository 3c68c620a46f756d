import { paths } from '../../../schemas/documents';
import type { EventOf } from '../../../schemas/events';
import { HospitalEvaluationSchema } from '../../../schemas/metrics';
import { EVALUATION_RISK_CUTS, sameCuts } from '../../core/evaluation/risk-histogram';
import { logs } from '../../logs';
import { verifySender } from '../enrolled-keys';
import { pooledQuality } from '../evaluation-pooling';
import type { AggregatorContext } from './aggregator-context';

/**
 * `evaluation.reported`: stored only when signed by the hospital it names, under the key valid
 * now. An unsigned or forged evaluation is audited and acknowledged, never stored or pooled.
 */
export async function receiveEvaluation(
  ctx: AggregatorContext,
  event: EventOf<'evaluation.reported'>,
): Promise<void> {
  const sender = await verifySender(ctx.deps.documents, event, ctx.deps.clock.now());
  if (!sender.ok) {
    logs.unverifiedMessage(ctx.deps.logger, event.type, event.data.hospitalId, sender.reason);
    await ctx.audit(null, null, 'evaluation.reported', event.data.hospitalId, 'rejected', sender.reason);
    return;
  }
  await recordEvaluation(ctx, event.data);
}

/**
 * Stores an authenticated hospital's evaluation of a model version and refreshes the version's
 * pooled metrics. A malformed evaluation, or one whose histogram cannot be pooled with the others,
 * is audited and dropped before it is stored: one bad message must not block every later one.
 */
export async function recordEvaluation(ctx: AggregatorContext, evaluation: unknown): Promise<void> {
  const parsed = HospitalEvaluationSchema.safeParse(evaluation);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    await ctx.audit(
      null,
      null,
      'evaluation.reported',
      null,
      'rejected',
      `malformed evaluation at '${issue.path.join('.')}': ${issue.message}`,
    );
    return;
  }
  const report = parsed.data;
  const version = await ctx.deps.models.get(report.modelVersionId);
  if (!version) {
    await ctx.audit(
      null,
      null,
      'evaluation.reported',
      report.hospitalId,
      'rejected',
      `unknown model version ${report.modelVersionId}`,
    );
    return;
  }
  const reject = (reason: string) =>
    ctx.audit(version.runId, version.round, 'evaluation.reported', report.hospitalId, 'rejected', reason);
  const run = await ctx.getRun(version.runId);
  if (!run?.hospitals.includes(report.hospitalId))
    return reject(`hospital ${report.hospitalId} is not in run ${version.runId}`);
  if (!sameCuts(report.histogram.cuts, EVALUATION_RISK_CUTS))
    return reject(
      `histogram cuts [${report.histogram.cuts.join(', ')}] are not the public evaluation cuts [${EVALUATION_RISK_CUTS.join(', ')}]: finer bins would leak, other bins cannot be pooled`,
    );
  await ctx.deps.documents.create(paths.evaluation(report.modelVersionId, report.hospitalId), report);
  // Pooling re-reads every evaluation of the version; doing it on each one is O(K²) for K
  // hospitals. Refresh at 1, 2, 4, 8, ... evaluations and when all hospitals have reported (the
  // base version is refreshed once more when its round closes): O(K log K) reads in all.
  const stored = await ctx.deps.documents.count(paths.evaluations(report.modelVersionId));
  if (stored >= run.hospitals.length || (stored & (stored - 1)) === 0)
    await refreshPooledMetrics(ctx, version.runId, report.modelVersionId);
}

/**
 * Recomputes a version's pooled metrics from every hospital's stored evaluation inside one
 * transaction: evaluations of one version arrive concurrently, and a recompute from a list read
 * outside the transaction could be written last while missing the newest evaluation.
 */
export async function refreshPooledMetrics(
  ctx: AggregatorContext,
  runId: string,
  versionId: string,
): Promise<void> {
  const run = await ctx.getRun(runId);
  if (!run) return;
  await ctx.deps.documents.runTransaction(async (tx) => {
    const evaluations = [];
    for (const hospitalId of run.hospitals) {
      const data = await tx.get(paths.evaluation(versionId, hospitalId));
      if (data) evaluations.push(HospitalEvaluationSchema.parse(data));
    }
    if (evaluations.length === 0) return;
    tx.update(paths.model(versionId), { pooled: pooledQuality(versionId, evaluations) });
  });
}
