import type { LayersModel } from '@tensorflow/tfjs';
import { hospitalStateDir, localHospitalSiteStore } from '../adapters/ledger/local-hospital-ledger';
import { getFlatWeights, interceptIndex, setFlatWeights, withSiteIntercept } from '../core/model';
import type { HimasModelMetadata } from '../services/model-artifacts';
import { readRun } from '../services/run-documents';
import { ownInterceptAsOf } from '../services/site-intercepts';
import { withStoreReader } from './store-reader';
import { UserError } from './user-error';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `himas predict --hospital ID` after a run with site intercepts: the model as that (simulated)
 * hospital serves it itself, the shared weights with its own intercept, read from its state folder
 * in the store (`<home>/hospital-state`) by the receipt of its update in the version's round or the
 * latest one before. Returns the calibration the answer states: the hospitals' figures were
 * measured exactly this way, each hospital with its own intercept.
 */
export async function useHospitalOwnIntercept(
  home: string,
  metadata: HimasModelMetadata,
  hospitalId: string,
  model: LayersModel,
  source: string,
): Promise<NonNullable<HimasModelMetadata['calibration']> | null> {
  if (!SAFE_ID.test(hospitalId)) throw new UserError(`--hospital ${hospitalId} is not a hospital id`);
  const { runId, round } = metadata;
  if (!runId || round === undefined)
    throw new UserError(
      `${source} does not say which run and round it comes from, so --hospital cannot find that hospital's intercept`,
    );
  const own = await withStoreReader(home, 'embedded', async (store) => {
    const run = await readRun(store.documents, runId);
    if (!run)
      throw new UserError(
        `no run '${runId}' in ${home}, so --hospital has no intercept to use (pass --home DIR)`,
      );
    if (!run.config.siteIntercept)
      throw new UserError(
        `run ${runId} did not train site intercepts: every hospital serves the shared model; drop --hospital`,
      );
    if (!run.hospitals.includes(hospitalId))
      throw new UserError(
        `hospital ${hospitalId} is not in run ${runId} (its hospitals: ${run.hospitals.join(', ')})`,
      );
    const site = localHospitalSiteStore(hospitalStateDir(home));
    return ownInterceptAsOf({ documents: store.documents, site }, runId, hospitalId, round);
  });
  if (own === null)
    throw new UserError(
      `hospital ${hospitalId} has no intercept of its own for ${metadata.versionId ?? source} in ${hospitalStateDir(home)}: none of its updates up to round ${round} went into an aggregate`,
    );
  setFlatWeights(model, withSiteIntercept(getFlatWeights(model), interceptIndex(model), own));
  const calibration = metadata.calibration ?? null;
  return calibration === null ? null : { ...calibration, siteIntercepts: false, scoredAt: hospitalId };
}
