import type { Logger } from './logging/logger';

/**
 * Every log line HIMAS writes, by name (STYLE.md habit 2). `event` is stable: log-based metrics and
 * alerts in Terraform filter on it.
 */
export const logs = {
  backendSelected: (log: Logger, backend: string, tried: string) =>
    log.write({
      severity: 'INFO',
      event: 'backend.selected',
      message: `TensorFlow.js backend: ${backend}`,
      backend,
      tried,
    }),
  runCreated: (log: Logger, runId: string, hospitals: string[]) =>
    log.write({
      severity: 'INFO',
      event: 'run.created',
      message: `run ${runId} created with ${hospitals.length} hospitals`,
      runId,
      hospitals,
    }),
  runInitialized: (log: Logger, runId: string, versionId: string, parameters: number) =>
    log.write({
      severity: 'INFO',
      event: 'run.initialized',
      message: `run ${runId}: initial model ${versionId} (${parameters} parameters)`,
      runId,
      versionId,
      parameters,
    }),
  roundOpened: (log: Logger, runId: string, round: number, hospitals: string[]) =>
    log.write({
      severity: 'INFO',
      event: 'round.opened',
      message: `run ${runId} round ${round} opened for ${hospitals.join(', ')}`,
      runId,
      round,
    }),
  /** norm null: a masked update, whose norm the aggregator cannot see. */
  updateAccepted: (log: Logger, runId: string, round: number, hospitalId: string, norm: number | null) =>
    log.write({
      severity: 'INFO',
      event: 'update.accepted',
      message: `run ${runId} round ${round}: update from ${hospitalId} accepted (${norm === null ? 'masked' : `norm ${norm.toFixed(4)}`})`,
      runId,
      round,
      hospitalId,
      norm,
    }),
  updateRejected: (
    log: Logger,
    runId: string | null,
    round: number | null,
    hospitalId: string | null,
    reason: string,
  ) =>
    log.write({
      severity: 'WARNING',
      event: 'update.rejected',
      message: `update rejected${hospitalId ? ` from ${hospitalId}` : ''}: ${reason}`,
      runId,
      round,
      hospitalId,
      reason,
    }),
  updateDuplicate: (log: Logger, runId: string, round: number, hospitalId: string) =>
    log.write({
      severity: 'INFO',
      event: 'update.duplicate',
      message: `run ${runId} round ${round}: duplicate update from ${hospitalId} ignored`,
      runId,
      round,
      hospitalId,
    }),
  roundClosed: (
    log: Logger,
    runId: string,
    round: number,
    participants: number,
    epsilon: number | null,
    durationSeconds: number,
  ) =>
    log.write({
      severity: 'NOTICE',
      event: 'round.closed',
      message: `run ${runId} round ${round} closed with ${participants} updates after ${durationSeconds.toFixed(1)} s`,
      runId,
      round,
      participants,
      epsilon,
      // The dashboard's round-duration chart is a log-based distribution metric on this field.
      durationSeconds,
    }),
  roundFailed: (log: Logger, runId: string, round: number, reason: string) =>
    log.write({
      severity: 'ERROR',
      event: 'round.failed',
      message: `run ${runId} round ${round} failed: ${reason}`,
      runId,
      round,
      reason,
    }),
  roundAwaitingSeeds: (log: Logger, runId: string, round: number, dropped: string[]) =>
    log.write({
      severity: 'WARNING',
      event: 'round.awaiting-seeds',
      message: `run ${runId} round ${round}: ${dropped.length > 0 ? `${dropped.join(', ')} dropped after masking; ` : ''}waiting for the survivors' reveal`,
      runId,
      round,
      dropped,
    }),
  seedsRevealed: (log: Logger, runId: string, round: number, hospitalId: string, dropped: string[]) =>
    log.write({
      severity: 'NOTICE',
      event: 'seeds.revealed',
      message: `hospital ${hospitalId}: revealed its shares for run ${runId} round ${round}${dropped.length > 0 ? ` (dropped: ${dropped.join(', ')})` : ''}`,
      runId,
      round,
      hospitalId,
      dropped,
    }),
  roundAwaitingReplay: (log: Logger, runId: string, round: number, unreceived: string[], until: string) =>
    log.write({
      severity: 'WARNING',
      event: 'round.awaiting-replay',
      message: `run ${runId} round ${round}: short of its quorum at the deadline, but ${unreceived.join(', ')} sent an update that never arrived (dead-lettered or in flight); waiting until ${until} — \`himas deadletter replay --run ${runId}\` brings dead letters back`,
      runId,
      round,
      unreceived,
      until,
    }),
  leaseTakenOver: (
    log: Logger,
    runId: string,
    round: number,
    previousOwner: string,
    why: 'holder-gone' | 'expired',
  ) =>
    log.write({
      severity: 'WARNING',
      event: 'round.lease-taken-over',
      message: `run ${runId} round ${round}: took over the aggregation from ${previousOwner} (${why === 'holder-gone' ? 'its process is gone' : 'its lease expired'})`,
      runId,
      round,
      previousOwner,
      why,
    }),
  leaseRenewalFailed: (log: Logger, runId: string, round: number, reason: string) =>
    log.write({
      severity: 'WARNING',
      event: 'round.lease-renewal-failed',
      message: `run ${runId} round ${round}: renewing the aggregation lease failed: ${reason}`,
      runId,
      round,
      reason,
    }),
  leaseBusy: (log: Logger, runId: string, round: number, owner: string) =>
    log.write({
      severity: 'INFO',
      event: 'round.lease-busy',
      message: `run ${runId} round ${round} is being aggregated by ${owner}; retrying later`,
      runId,
      round,
      owner,
    }),
  runHalted: (log: Logger, runId: string, reason: string) =>
    log.write({
      severity: 'CRITICAL',
      event: 'run.halted',
      message: `run ${runId} halted: ${reason}`,
      runId,
      reason,
    }),
  poisonMessage: (log: Logger, reason: string) =>
    log.write({
      severity: 'WARNING',
      event: 'message.rejected',
      message: `message rejected: ${reason}`,
      reason,
    }),
  /** A hospital event that does not verify (signature, enrolment, blob): audited, acknowledged, never recorded. */
  unverifiedMessage: (log: Logger, type: string, hospitalId: string, reason: string) =>
    log.write({
      severity: 'WARNING',
      event: 'message.unverified',
      message: `${type} claiming to be from ${hospitalId} not recorded: ${reason}`,
      type,
      hospitalId,
      reason,
    }),
  jobStarted: (log: Logger, mode: string, runId: string, round: number | null, hospitalId: string) =>
    log.write({
      severity: 'INFO',
      event: 'job.started',
      message: `hospital ${hospitalId}: ${mode} job for run ${runId}${round ? ` round ${round}` : ''}`,
      mode,
      runId,
      round,
      hospitalId,
    }),
  jobSkipped: (log: Logger, hospitalId: string, reason: string) =>
    log.write({
      severity: 'INFO',
      event: 'job.skipped',
      message: `hospital ${hospitalId}: nothing to do (${reason})`,
      hospitalId,
      reason,
    }),
  aggregatesShared: (log: Logger, runId: string, hospitalId: string, detail: string) =>
    log.write({
      severity: 'INFO',
      event: 'aggregates.shared',
      message: `hospital ${hospitalId}: ${detail}`,
      runId,
      hospitalId,
    }),
  surveillanceChecked: (log: Logger, runId: string, hospitals: number, alerts: number) =>
    log.write({
      severity: alerts > 0 ? 'WARNING' : 'INFO',
      event: 'surveillance.checked',
      message: `run ${runId}: surveillance over ${hospitals} hospitals raised ${alerts} alert(s)`,
      runId,
      hospitals,
      alerts,
    }),
  treatmentEstimated: (log: Logger, runId: string, summary: string) =>
    log.write({
      severity: 'INFO',
      event: 'treatment.estimated',
      message: `run ${runId}: ${summary}`,
      runId,
    }),
  // No duration and, under DP-SGD, no loss: both depend on the hospital's records, and the job's
  // logs are read outside the hospital (Cloud Logging of the shared project).
  jobTrained: (log: Logger, runId: string, round: number, hospitalId: string, loss: number | null) =>
    log.write({
      severity: 'INFO',
      event: 'job.trained',
      message: `hospital ${hospitalId}: round ${round} trained${loss === null ? '' : ` (loss ${loss.toFixed(4)}, no patient-level guarantee)`}`,
      runId,
      round,
      hospitalId,
      loss,
    }),
  privacyChecked: (
    log: Logger,
    runId: string,
    round: number,
    versionId: string,
    level: string,
    message: string,
  ) =>
    log.write({
      severity: level === 'ok' ? 'INFO' : level === 'warning' ? 'WARNING' : 'CRITICAL',
      event: 'agent.privacy-checked',
      message,
      runId,
      round,
      versionId,
      level,
    }),
  progressRecorded: (
    log: Logger,
    runId: string,
    round: number,
    versionId: string,
    converged: boolean,
    reason: string,
  ) =>
    log.write({
      severity: converged ? 'NOTICE' : 'INFO',
      event: 'agent.progress-recorded',
      message: `run ${runId} at ${versionId}: ${reason}`,
      runId,
      round,
      versionId,
      converged,
    }),
  clinicalModelReloaded: (
    log: Logger,
    publishedVersionId: string,
    servedVersionId: string | null,
    reason: string | null,
  ) =>
    log.write({
      severity: servedVersionId === null ? 'WARNING' : 'INFO',
      event: 'agent.clinical-model-reloaded',
      message:
        servedVersionId === null
          ? `clinical decision support: ${publishedVersionId} published, no servable model (${reason})`
          : `clinical decision support serves ${servedVersionId} (${publishedVersionId} published)`,
      publishedVersionId,
      servedVersionId,
    }),
  clinicalModelWithdrawn: (log: Logger, versionId: string, reason: string) =>
    log.write({
      severity: 'WARNING',
      event: 'agent.clinical-model-withdrawn',
      message: `clinical decision support stopped serving ${versionId}: ${reason}`,
      versionId,
    }),
  clinicalLanguageModelFailed: (log: Logger, model: string, reason: string) =>
    log.write({
      severity: 'WARNING',
      event: 'agent.language-model-failed',
      message: `language model ${model} failed; the template narrative is used instead: ${reason}`,
      model,
    }),
};
