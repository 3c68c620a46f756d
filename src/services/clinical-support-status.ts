import type { RunDocument } from '../../schemas/documents';
import { chooseServableVersion } from '../core/agents/servable-version';
import type { ModelRegistry } from '../ports/model-registry';

/** What clinical decision support serves for a run and what it refuses, for `himas agents` and the console. */
export interface ClinicalSupportStatus {
  runId: string;
  /** The version a prediction for this run is answered with now, or null when none may be. */
  served: string | null;
  /** Why nothing is served (null when a version is). */
  refusal: string | null;
  /** Trained versions it will not serve (halted by the privacy guardian, or later ones), with why. */
  refused: { versionId: string; reason: string }[];
}

/** Decided exactly as the service decides before every answer (chooseServableVersion). */
export async function clinicalSupportStatus(
  models: Pick<ModelRegistry, 'list'>,
  run: RunDocument,
): Promise<ClinicalSupportStatus> {
  const versions = await models.list(run.runId);
  const choice = chooseServableVersion(run.runId, versions, {
    haltedBy: run.halt?.by ?? null,
    reason: run.halt?.reason ?? null,
  });
  if (!choice.ok)
    return {
      runId: run.runId,
      served: null,
      refusal: choice.reason,
      refused: versions
        .filter((v) => v.round > 0)
        .map((v) => ({ versionId: v.versionId, reason: choice.reason })),
    };
  return {
    runId: run.runId,
    served: choice.version.versionId,
    refusal: null,
    refused: choice.passedOver.filter(
      (p) => versions.find((v) => v.versionId === p.versionId)!.round > choice.version.round,
    ),
  };
}
