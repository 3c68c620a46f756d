import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TrainingReport } from '../../schemas/report';
import { CsvCohortSource } from '../adapters/cohort/csv-cohort-source';
import type { RunVerdict } from '../core/agents/run-verdict';
import { computeSimulationBaselines, privacyCostBaseline } from '../local/simulation-baselines';
import { buildTrainingReport } from '../local/training-report';
import type { TrainingPlatform } from '../local/workflow-training';
import type { ModelRegistry } from '../ports/model-registry';
import { loadHimasModel, withCalibration } from '../services/model-artifacts';
import { servedCalibration } from '../services/clinical-support-agent';
import { ownInterceptAsOf } from '../services/site-intercepts';
import { localOnlyWins } from './baseline-comparison';
import { fmt } from './format-metrics';
import { explainWriteError } from './output-paths';
import { preloadChartLibraries } from './report/charts';
import { renderReportHtml } from './report/report-html';

/**
 * What a finished run leaves in its folder: report.json and report.html always, and `model/` only
 * when the run has a model to serve (the verdict's version, which is not always the newest: a
 * version the privacy guardian halted never is). A halted, failed or diverged run leaves no
 * `model/`, and a stale one from an earlier attempt in the same folder is removed, so nothing
 * there can be mistaken for its final model.
 */
export async function writeRunOutputs(
  platform: TrainingPlatform,
  runId: string,
  outDir: string,
  backend: string,
  verdict: RunVerdict,
  say: (line: string) => void,
): Promise<TrainingReport> {
  const run = (await platform.lifecycle.getRun(runId))!;
  const cohorts = new CsvCohortSource(run.dataSource.location);
  const sizes: Record<string, { trainStays: number; testStays: number }> = {};
  for (const h of run.hospitals)
    sizes[h] = {
      trainStays: (await cohorts.read(h, 'train')).length,
      testStays: (await cohorts.read(h, 'test')).length,
    };

  const modelDir = path.join(outDir, 'model');
  await rm(modelDir, { recursive: true, force: true });
  // The baselines compare the model the run presents, or the diverged one (to show how far off).
  const comparedVersion = verdict.modelVersionId ?? verdict.divergedVersionId;
  const baselines: TrainingReport['baselines'] = [];
  const notes: string[] = [];
  if (comparedVersion) {
    const { doc, artifacts } = await writeServedModel(
      platform.models,
      verdict,
      modelDir,
      comparedVersion,
      run.config.siteIntercept,
    );
    const federatedIntercepts = run.config.siteIntercept
      ? await siteInterceptsOf(platform, runId, run.hospitals, doc.round)
      : undefined;
    say('Computing simulation-only baselines (central and local-only training of the same architecture)…');
    const { model, preprocessor } = await loadHimasModel(artifacts);
    try {
      const b = await computeSimulationBaselines({
        cohorts,
        hospitals: run.hospitals,
        config: run.config,
        federatedModel: model,
        federatedPreprocessor: preprocessor,
        federatedIntercepts,
      });
      baselines.push(
        {
          name: 'federated (exact)',
          description: `${verdict.modelVersionId ? 'the final federated model' : `${comparedVersion}, which diverged (not served)`}, scored on all test stays pooled exactly`,
          quality: b.federated,
        },
        ...(b.federatedShared
          ? [
              {
                name: 'federated, shared intercept (exact)',
                description:
                  'the same model as served centrally, with the shared intercept (the mean the hospitals’ intercept changes moved it to), scored on all test stays pooled exactly',
                quality: b.federatedShared,
              },
            ]
          : []),
        {
          name: 'central',
          description: `same architecture trained on all hospitals' records pooled, ${run.config.rounds * run.config.localEpochs} epochs`,
          quality: b.central,
        },
        {
          name: 'local-only',
          description: 'each hospital trains alone on its own records and is scored on its own test stays',
          quality: b.localOnly,
        },
      );
      const gap = (b.federated.pooled.auroc ?? NaN) - (b.central.pooled.auroc ?? NaN);
      notes.push(
        `Federated pooled test AUROC ${fmt(b.federated.pooled.auroc)} vs central ${fmt(b.central.pooled.auroc)} (difference ${fmt(gap)}).`,
      );
      const beaten = localOnlyWins(b.federated, b.localOnly, run.hospitals);
      notes.push(
        beaten.length === 0
          ? `Every hospital's own test stays are predicted better by the federated model than by a model trained on that hospital's records alone (AUROC, simulation).`
          : `Local-only beats federated at ${beaten.map((w) => `${w.hospitalId} (AUROC ${fmt(w.local)} alone vs ${fmt(w.federated)} federated)`).join(', ')}: on its own test stays that hospital would have done better training alone (simulation; small test splits make single AUROCs noisy).`,
      );
      const privacyCost = privacyCostBaseline(b, run.config);
      if (privacyCost) {
        baselines.push(privacyCost.baseline);
        notes.push(privacyCost.note);
      }
    } finally {
      model.dispose();
    }
  }
  if (verdict.kind !== 'succeeded') notes.unshift(`No model to serve: ${verdict.reason}.`);
  if (run.config.siteIntercept) notes.push(SITE_INTERCEPTS_NOTE);
  notes.push(
    `${NOISY_POOLED_METRICS} The 'federated (exact)' baseline is the simulation's own exact scoring, which a deployment cannot compute.`,
  );
  const report = await buildTrainingReport({
    run,
    documents: platform.stack.documents,
    models: platform.models,
    backend,
    hospitalSizes: sizes,
    outcome: verdict,
    finalModelDirectory: verdict.modelVersionId ? modelDir : null,
    baselines,
    notes,
  });
  await writeReportFiles(report, outDir);
  return report;
}

export const NOISY_POOLED_METRICS =
  "Pooled metrics per model version come from the hospitals' DP-noised risk histograms (13 public bins, noise charged to each hospital's privacy ledger): they are estimates, with approximate 95 % intervals of the noise; no record and no exact count left any hospital.";

export const SITE_INTERCEPTS_NOTE =
  "Site intercepts: each hospital trained and kept its own intercept and scored with it, so the per-hospital and pooled figures are the hospitals' own models (shared weights, own intercept). The shared model in model/ carries the mean the hospitals' intercept changes moved the shared intercept to; the hospitals never measured its calibration (the 'federated, shared intercept (exact)' row is the simulation's exact scoring of it), so clinical decision support presents its risks as a ranking; `himas predict --hospital ID` scores with a hospital's own intercept.";

/**
 * Loads `version` and, when it is the verdict's servable model, writes it to `modelDir` as
 * `model.json` (with the served calibration) and `weights.bin`. A version that is not served
 * (a diverged one, loaded only to compare) writes nothing.
 */
/** Each simulated hospital's own intercept as of `round` (null: none yet), read from its own state. */
async function siteInterceptsOf(
  platform: TrainingPlatform,
  runId: string,
  hospitals: readonly string[],
  round: number,
): Promise<Record<string, number | null>> {
  const sites = platform.hospitalSites;
  if (!sites) throw new Error('this stack gives the report no access to the hospitals’ site intercepts');
  const intercepts: Record<string, number | null> = {};
  for (const h of hospitals)
    intercepts[h] = await ownInterceptAsOf(
      { documents: platform.stack.documents, site: sites },
      runId,
      h,
      round,
    );
  return intercepts;
}

export async function writeServedModel(
  models: ModelRegistry,
  verdict: RunVerdict,
  modelDir: string,
  version: string,
  siteIntercepts: boolean,
): Promise<Awaited<ReturnType<ModelRegistry['load']>>> {
  const loaded = await models.load(version);
  if (verdict.modelVersionId === version) {
    try {
      await mkdir(modelDir, { recursive: true });
      const modelJson = withCalibration(
        loaded.artifacts.modelJson,
        servedCalibration(loaded.doc.pooled, siteIntercepts),
      );
      await writeFile(path.join(modelDir, 'model.json'), JSON.stringify(modelJson));
      await writeFile(path.join(modelDir, 'weights.bin'), loaded.artifacts.weights);
    } catch (error) {
      throw explainWriteError(error, 'the model folder', modelDir);
    }
  }
  return loaded;
}

export async function writeReportFiles(report: TrainingReport, outDir: string): Promise<void> {
  await preloadChartLibraries();
  try {
    await writeFile(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(path.join(outDir, 'report.html'), renderReportHtml(report));
  } catch (error) {
    throw explainWriteError(error, 'the report in', outDir);
  }
}
