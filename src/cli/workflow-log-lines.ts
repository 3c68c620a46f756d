import type { Severity } from '../logging/logger';

/**
 * The training workflow's own log lines (`sys.log`) as `himas train` shows them: one readable line
 * each, a failed hospital job as its cause in words (not the execution's JSON), and the same cause
 * for the same hospital in a later round said once.
 */
export interface JobFailure {
  hospital: string;
  round: number | null;
  /** Where outside a round it failed (the run's reservation, before round 1). */
  stage?: string;
  message: string;
}

export function workflowLogReader() {
  const failures: JobFailure[] = [];
  const seen = new Set<string>();
  return {
    failures,
    /** The progress line for one entry, or null when it repeats a job failure already shown. */
    line(message: unknown): string | null {
      const failure = jobFailureOf(message);
      if (!failure) return describeWorkflowLog(message);
      failures.push(failure);
      const key = `${failure.hospital}\u0000${normalised(failure)}`;
      const repeat = seen.has(key);
      seen.add(key);
      const where =
        failure.round !== null ? `round ${failure.round}: ` : failure.stage ? `${failure.stage}: ` : '';
      return repeat
        ? `${where}${failure.hospital}'s job failed again, for the same reason`
        : `${where}${failure.hospital}'s job failed: ${failure.message}`;
    },
  };
}

/**
 * Which hospitals' jobs failed and why, as one clause for the run's verdict: `the jobs of h1, h2
 * failed (h1: <its words>)`; causes that differ only in the hospital or round count as one.
 */
export function jobFailureSummary(failures: readonly JobFailure[]): string | null {
  if (failures.length === 0) return null;
  const causes = new Set(failures.map((f) => normalised(f)));
  // Jobs finish in any order (they run at once): name hospitals in id order so the same run
  // always reads the same, and quote the earliest round's failure of the first of them.
  const ordered = [...failures].sort(
    (a, b) => a.hospital.localeCompare(b.hospital) || (a.round ?? 0) - (b.round ?? 0),
  );
  const hospitals = [...new Set(ordered.map((f) => f.hospital))];
  const first = ordered[0];
  const others = causes.size - 1;
  return `the jobs of ${hospitals.join(', ')} failed (${first.hospital}: ${first.message}${others > 0 ? `; and ${others} other cause${others === 1 ? '' : 's'}, shown above` : ''})`;
}

function normalised(f: JobFailure): string {
  return f.message
    .replace(/\bround \d+\b/g, 'round N')
    .split(f.hospital)
    .join('HOSPITAL');
}

function jobFailureOf(message: unknown): JobFailure | null {
  if (!message || typeof message !== 'object') return null;
  const m = message as {
    event?: unknown;
    hospital?: unknown;
    round?: unknown;
    stage?: unknown;
    error?: unknown;
  };
  if (m.event !== 'workflow.job-failed' || typeof m.hospital !== 'string') return null;
  return {
    hospital: m.hospital,
    round: typeof m.round === 'number' ? m.round : null,
    ...(typeof m.stage === 'string' ? { stage: m.stage } : {}),
    message: innermostMessage(m.error),
  };
}

/** The job's own words: the operation's error, without the "execution … failed:" wrapper. */
function innermostMessage(error: unknown): string {
  const e = error as { message?: unknown; operation?: { error?: { message?: unknown } } } | null;
  const text = e?.operation?.error?.message ?? e?.message ?? JSON.stringify(error);
  return String(text).replace(/^execution \S+ of \S+ failed: /, '');
}

export function describeWorkflowLog(message: unknown): string {
  if (message && typeof message === 'object') {
    const { event, ...rest } = message as Record<string, unknown>;
    return `${String(event ?? 'log')} ${JSON.stringify(rest)}`;
  }
  return String(message);
}

/** The error's message, and for a failed parallel step the first branch's own error (the cause). */
export function describeWorkflowError(error: unknown): string {
  if (!error || typeof error !== 'object') return String(error);
  const e = error as { message?: unknown; tags?: unknown; branches?: Array<{ error?: unknown }> };
  const cause = e.branches?.find((b) => b.error !== undefined)?.error;
  if (cause !== undefined) return describeWorkflowError(cause);
  return `${String(e.message ?? JSON.stringify(error))}${Array.isArray(e.tags) ? ` [${e.tags.join(', ')}]` : ''}`;
}

export function toSeverity(severity: string): Severity {
  const upper = severity.toUpperCase();
  return (
    (['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL'] as const).find((s) => s === upper) ?? 'INFO'
  );
}
