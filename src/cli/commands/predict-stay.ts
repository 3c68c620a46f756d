import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ZodError } from 'zod';
import { assessStay } from '../../core/agents/clinical-support';
import { chooseServableVersion } from '../../core/agents/servable-version';
import { stayInputIssues } from '../../core/agents/stay-input';
import { initializeBackend } from '../../core/model';
import { silentLogger } from '../../logging/logger';
import { ClinicalSupportAgent } from '../../services/clinical-support-agent';
import { loadHimasModel, type HimasModelMetadata } from '../../services/model-artifacts';
import { describeGuarantee } from '../../services/privacy-guarantee';
import { readRun } from '../../services/run-documents';
import { formatAssessment, type AssessmentAnswer } from '../clinical-assessment-view';
import { withStoreReader } from '../store-reader';
import { useHospitalOwnIntercept } from '../hospital-own-model';
import { UserError } from '../user-error';
import { readModelFolder } from './predict';

export interface PredictStayOptions {
  stay: string | undefined;
  modelDir: string | undefined;
  runId: string | undefined;
  home: string;
  /** Score with this hospital's own intercept (a run with site intercepts; --model only). */
  hospital?: string;
  json: boolean;
}

/** `himas predict --stay`: one stay through the clinical decision-support core (or service, with --run). */
export async function predictOneStay(options: PredictStayOptions): Promise<number> {
  if (!options.stay)
    throw new UserError('missing --stay JSON_FILE|- (the stay to score); see `himas predict --help`');
  if ((options.modelDir === undefined) === (options.runId === undefined))
    throw new UserError('pass exactly one of --model DIR or --run RUN_ID with --stay');
  const body = readStay(options.stay);
  await initializeBackend('auto');
  const answer = options.runId
    ? await fromStore(options.home, options.runId, body)
    : await fromFolder(options.modelDir!, options.home, body, options.hospital);
  process.stdout.write(options.json ? `${JSON.stringify(answer, null, 2)}\n` : formatAssessment(answer));
  return 0;
}

function readStay(source: string): unknown {
  if (source !== '-' && !existsSync(source)) throw new UserError(`stay file ${source} does not exist`);
  const text = readFileSync(source === '-' ? 0 : source, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${source === '-' ? 'stdin' : source} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function invalidStay(error: ZodError): UserError {
  return new UserError(
    `invalid stay: ${stayInputIssues(error)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ')}`,
  );
}

/** The run's newest servable version, chosen and scored exactly as the deployed function does. */
async function fromStore(home: string, runId: string, body: unknown): Promise<AssessmentAnswer> {
  return withStoreReader(home, 'embedded', async (store) => {
    if (!(await readRun(store.documents, runId)))
      throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs`);
    const agent = new ClinicalSupportAgent(
      { documents: store.documents, models: store.models, logger: silentLogger },
      { runId },
    );
    const result = await agent.predict(body);
    if (result.status === 400) throw new UserError(`invalid stay: ${String(result.body.error)}`);
    if (result.status !== 200) throw new UserError(`no servable model: ${String(result.body.reason)}`);
    return result.body as unknown as AssessmentAnswer;
  });
}

async function fromFolder(
  dir: string,
  home: string,
  body: unknown,
  hospital: string | undefined,
): Promise<AssessmentAnswer> {
  const artifacts = await readModelFolder(dir);
  let loaded;
  try {
    loaded = await loadHimasModel(artifacts);
  } catch (error) {
    throw new UserError(`model folder ${dir} is not a usable HIMAS model: ${(error as Error).message}`);
  }
  try {
    await refuseIfHalted(home, loaded.metadata, dir);
    const calibration =
      hospital === undefined
        ? (loaded.metadata.calibration ?? null)
        : await useHospitalOwnIntercept(home, loaded.metadata, hospital, loaded.model, `model folder ${dir}`);
    const privacy = loaded.metadata.privacy ?? [];
    const version = {
      versionId: loaded.metadata.versionId ?? path.basename(path.resolve(dir)),
      runId: loaded.metadata.runId ?? 'unknown',
      round: loaded.metadata.round ?? 0,
      privacy,
      calibration,
    };
    try {
      const { assessment } = assessStay(
        { model: loaded.model, preprocessor: loaded.preprocessor, version },
        body,
      );
      return { ...assessment, privacyStatements: privacy.map(describeGuarantee) };
    } catch (error) {
      if (error instanceof ZodError) throw invalidStay(error);
      throw error;
    }
  } finally {
    loaded.model.dispose();
  }
}

/**
 * A folder is a copy: when the local store knows its version, the privacy guardian's verdict there
 * applies to it too. Without a store (a folder copied elsewhere) there is nothing to consult.
 */
export async function refuseIfHalted(home: string, metadata: HimasModelMetadata, dir: string): Promise<void> {
  const { runId, versionId } = metadata;
  if (!runId || !versionId || !existsSync(path.join(home, 'himas.duckdb'))) return;
  await withStoreReader(home, 'embedded', async (store) => {
    const run = await readRun(store.documents, runId);
    if (!run) return;
    const choice = chooseServableVersion(runId, await store.models.list(runId), {
      haltedBy: run.halt?.by ?? null,
      reason: run.halt?.reason ?? null,
    });
    const refusal = choice.ok
      ? choice.passedOver.find(
          (p) => p.versionId === versionId && p.reason !== 'the initial, untrained model',
        )
      : { reason: choice.reason };
    if (refusal)
      throw new UserError(
        `model ${versionId} in ${dir} must not be served: ${refusal.reason}; \`himas predict --run ${runId} --stay ...\` serves the newest version within budget`,
      );
  });
}
