import { checkDivergence, type DivergenceCheck, type PooledQuality } from './divergence';
import { chooseServableVersion } from './servable-version';

/**
 * What a finished run produced, in one word and one sentence: the judgement `himas train` prints,
 * exits with and writes into the report. A run succeeded only when it left a model to serve: a
 * version trained in at least one round, not halted by the privacy guardian, and no worse than the
 * initial model it started from (src/core/agents/divergence.ts). Everything else is named for what
 * it is, with why, and presents no model as final.
 */
export type RunVerdictKind = 'succeeded' | 'halted' | 'failed' | 'diverged' | 'running';

export interface RunVerdict {
  kind: RunVerdictKind;
  /** The version to serve and to present as the run's model; null unless the run succeeded. */
  modelVersionId: string | null;
  /** One line: why the run ended this way (for a success, how: all rounds, or stopped early). */
  reason: string;
  /** The last trained version when it is not served because it diverged (to show what happened). */
  divergedVersionId: string | null;
  divergence: DivergenceCheck | null;
}

export interface VerdictInput {
  runId: string;
  status: 'running' | 'completed' | 'failed' | 'halted';
  plannedRounds: number;
  halt: { reason: string; by: string } | null;
  rounds: readonly { round: number; status: string; failureReason: string | null }[];
  versions: readonly { versionId: string; round: number; halted: boolean; pooled: PooledQuality | null }[];
  /** Mean training loss of the hospitals in the last round that closed, when they released it (no DP-SGD). */
  lastTrainingLoss?: number | null;
}

export function judgeRun(input: VerdictInput): RunVerdict {
  const none = { modelVersionId: null, divergedVersionId: null, divergence: null };
  if (input.status === 'running')
    return {
      kind: 'running',
      ...none,
      reason: `run ${input.runId} has not finished (interrupted? \`himas train --resume ${input.runId}\` continues it)`,
    };
  const choice = chooseServableVersion(input.runId, input.versions, {
    haltedBy: input.halt?.by ?? null,
    reason: input.halt?.reason ?? null,
  });
  if (!choice.ok) {
    if (input.halt)
      return {
        kind: 'halted',
        ...none,
        reason: `halted by ${input.halt.by} before any model was trained within its limits: ${input.halt.reason}`,
      };
    return { kind: 'failed', ...none, reason: failureReason(input) ?? choice.reason };
  }
  const initial = input.versions.find((v) => v.round === 0)?.pooled ?? null;
  const divergence = checkDivergence(initial, choice.version.pooled, input.lastTrainingLoss ?? null);
  if (divergence.diverged)
    return {
      kind: 'diverged',
      modelVersionId: null,
      divergedVersionId: choice.version.versionId,
      divergence,
      reason: `training diverged: ${choice.version.versionId} is not a model to serve (${divergence.reason})`,
    };
  const closed = input.rounds.filter((r) => r.status === 'closed').length;
  const version = choice.version.versionId;
  const reason = input.halt
    ? `stopped early at round ${choice.version.round} of ${input.plannedRounds} (${input.halt.reason}); the model is ${version}`
    : closed < input.plannedRounds
      ? `${closed} of ${input.plannedRounds} rounds closed (${failureReason(input) ?? 'the others failed'}); the model is ${version}`
      : `all ${input.plannedRounds} rounds closed; the model is ${version}`;
  return { kind: 'succeeded', modelVersionId: version, divergedVersionId: null, divergence, reason };
}

/** The failed rounds, identical reasons folded: `no round closed (rounds 1–3: quorum …)`. */
function failureReason(input: VerdictInput): string | null {
  const failed = input.rounds.filter((r) => r.status === 'failed');
  if (failed.length === 0) return null;
  const byReason = new Map<string, number[]>();
  for (const r of failed) {
    const reason = r.failureReason ?? 'no reason recorded';
    byReason.set(reason, [...(byReason.get(reason) ?? []), r.round]);
  }
  const parts = [...byReason].map(([reason, rounds]) => `${roundList(rounds)}: ${reason}`);
  const closedAny = input.rounds.some((r) => r.status === 'closed');
  return `${closedAny ? '' : 'no round closed, so no model was trained; '}${parts.join('; ')}`;
}

function roundList(rounds: number[]): string {
  if (rounds.length === 1) return `round ${rounds[0]}`;
  const contiguous = rounds.every((r, i) => i === 0 || r === rounds[i - 1] + 1);
  return contiguous ? `rounds ${rounds[0]}–${rounds[rounds.length - 1]}` : `rounds ${rounds.join(', ')}`;
}
