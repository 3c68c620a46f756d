import { GUARDIAN_ACTOR } from './privacy-guardian';

/**
 * Which model version of a run clinical decision support may serve. The privacy guardian marks the
 * version at which a run's privacy budget ran out (or whose claimed ε did not match the ledger) as
 * halted; that version and every later one of the run carry at least that much privacy loss, so
 * none of them is served. The initial model (round 0) is untrained and not served either. The
 * answer is the newest version that remains, or why there is none.
 */
export interface VersionFacts {
  versionId: string;
  round: number;
  halted: boolean;
}

export interface RunHaltFacts {
  /** Who set the run's halt flag ('agent:privacy-guardian', 'agent:orchestrator', ...), if anyone. */
  haltedBy: string | null;
  reason: string | null;
}

export type ServableChoice<V extends VersionFacts> =
  | { ok: true; version: V; passedOver: { versionId: string; reason: string }[] }
  | { ok: false; reason: string };

export function chooseServableVersion<V extends VersionFacts>(
  runId: string,
  versions: readonly V[],
  run: RunHaltFacts,
): ServableChoice<V> {
  const firstHalted = versions.filter((v) => v.halted).sort((a, b) => a.round - b.round)[0];
  if (run.haltedBy === GUARDIAN_ACTOR && !firstHalted) {
    // The guardian flags the version before the run, so this is a store in an unexpected state:
    // without knowing which version crossed the budget, serve none of the run.
    return {
      ok: false,
      reason: `run ${runId} was halted by the privacy guardian (${run.reason ?? 'no reason recorded'}) and no version is marked halted; refusing to guess which versions are within budget`,
    };
  }
  const passedOver: { versionId: string; reason: string }[] = [];
  const newestFirst = [...versions].sort((a, b) => b.round - a.round);
  for (const v of newestFirst) {
    if (firstHalted && v.round >= firstHalted.round) {
      passedOver.push({
        versionId: v.versionId,
        reason:
          v.versionId === firstHalted.versionId
            ? 'halted by the privacy guardian'
            : `after ${firstHalted.versionId}, which the privacy guardian halted`,
      });
      continue;
    }
    if (v.round === 0) {
      passedOver.push({ versionId: v.versionId, reason: 'the initial, untrained model' });
      continue;
    }
    return { ok: true, version: v, passedOver };
  }
  if (versions.length === 0) return { ok: false, reason: `run ${runId} has no model version yet` };
  return {
    ok: false,
    reason: `no servable version in run ${runId}: ${passedOver.map((p) => `${p.versionId} (${p.reason})`).join('; ')}`,
  };
}
