import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TrainingReport } from '../../../schemas/report';
import type { TrainingConfig } from '../../../schemas/training-config';
import { CsvCohortSource } from '../../adapters/cohort/csv-cohort-source';
import { CONFIG_FIELDS, flagName, loadTrainingConfig } from '../../config/training-config-loader';
import { initializeBackend } from '../../core/model';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../local/embedded-platform';
import { computeSimulationBaselines } from '../../local/simulation-baselines';
import { driveTraining } from '../../local/training-driver';
import { buildTrainingReport } from '../../local/training-report';
import { fileLogger } from '../../logging/logger';
import { logs } from '../../logs';
import { loadHimasModel } from '../../services/model-artifacts';
import {
  describeGuarantee,
  hospitalLevelGuarantee,
  roundPrivacyEvent,
} from '../../services/privacy-guarantee';
import { parseCommandArgs, stringFlag } from '../args';
import { discoverHospitals, writeCohort } from '../cohort-files';
import { METRICS_HEADER, fmt, metricsRow } from '../format-metrics';
import type { Command } from '../main';
import { progressPrinter } from '../progress-printer';
import { renderReportHtml } from '../report/report-html';
import { UserError } from '../user-error';
import { generateCohortOrExplain } from './data';
import { withExistingStore } from '../existing-store';
import { defaultHome, newRunId } from '../run-locations';

const CONFIG_FLAGS = Object.keys(CONFIG_FIELDS).map(flagName);

const HELP = `Usage: himas train [--data DIR] [--rounds R] [--hospitals N] [--seed S] [--out RUN_DIR] [--json]
       himas train --resume RUN_ID

Runs federated training of the ICU-mortality model on the embedded stack: each hospital trains on
its own records in its own process; only clipped updates travel; the aggregation function combines
them with DP-FedAvg into a new model version each round. Without --data it generates the default
synthetic cohort (3 hospitals).

  --data DIR          folder with <hospital>.train.csv and <hospital>.test.csv (himas data generate)
  --out RUN_DIR       where report.json, report.html and model/ go (default runs/<run id>)
  --json              print only the report as JSON on stdout (progress stays on stderr)
  --resume RUN_ID     continue a run that was interrupted; nothing is counted twice
  --config FILE       a JSON or YAML file of training settings (flags win over it)
  --run-id ID         name the run (default run-<date>-<time>-<random>)
  --home DIR          the embedded store (default .himas, or $HIMAS_HOME)
  --job-runner KIND   process (default: one process per hospital job, as in Cloud Run) | in-process

Training settings (also HIMAS_<NAME> environment variables, or fields of --config):
  ${CONFIG_FLAGS.map((f) => `--${f}`).join('  ')}
  e.g. --rounds 5 --local-epochs 2 --batch-size 64 --clip-norm 2 --noise-multiplier 0 --quorum 2`;

export const trainCommand: Command = {
  summary: 'train the federated model on the embedded stack (himas train)',
  async run(argv) {
    const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
      data: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      resume: { type: 'string' },
      config: { type: 'string' },
      'run-id': { type: 'string' },
      home: { type: 'string' },
      'job-runner': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    };
    for (const flag of CONFIG_FLAGS) options[flag] = { type: 'string' };
    const { values } = parseCommandArgs('train', argv, options);
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const jobRunner = stringFlag(values, 'job-runner') ?? 'process';
    if (jobRunner !== 'process' && jobRunner !== 'in-process')
      throw new UserError(`--job-runner '${jobRunner}' must be 'process' or 'in-process'`);
    const configFlags: Record<string, string> = {};
    for (const field of Object.keys(CONFIG_FIELDS)) {
      const text = stringFlag(values, flagName(field));
      if (text !== undefined) configFlags[field] = text;
    }
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    const resume = stringFlag(values, 'resume');
    if (resume && (Object.keys(configFlags).length > 0 || values.config || values.data || values['run-id'])) {
      throw new UserError(
        '--resume continues a run with its stored settings and data; drop the other training flags',
      );
    }
    const config = resume
      ? undefined
      : loadTrainingConfig({ flags: configFlags, file: stringFlag(values, 'config'), env: process.env });
    const json = values.json === true;
    const say = (line: string) => process.stderr.write(`${line}\n`);

    const backend = await initializeBackend('auto');
    let runId = resume ?? stringFlag(values, 'run-id') ?? newRunId(new Date());
    const stored = resume ? await storedRunData(home, resume) : undefined;
    const outDir = path.resolve(
      stringFlag(values, 'out') ?? stored?.outputDirectory ?? path.join('runs', runId),
    );
    await mkdir(outDir, { recursive: true });
    const logger = fileLogger(path.join(outDir, 'run.log.jsonl'), 'himas-train');
    logs.backendSelected(logger, backend.backend, backend.tried.map((t) => t.backend).join(', '));

    const { dataDir, hospitals } =
      stored ?? (await prepareData(config!, stringFlag(values, 'data'), outDir, say));
    const platform = await openEmbeddedPlatform({ home, dataDir, logger, jobs: jobRunner });
    try {
      if (!resume) {
        await platform.lifecycle.createRun({
          runId,
          config: config!,
          hospitals,
          dataSource: { kind: 'csv', location: dataDir },
          outputDirectory: outDir,
        });
      }
      const run = await platform.lifecycle.getRun(runId);
      if (!run) throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs there`);
      runId = run.runId;
      say(
        `HIMAS run ${runId}${resume ? ' (resumed)' : ''}: ${run.hospitals.length} hospitals, ${run.config.rounds} rounds, backend ${backend.backend}`,
      );
      const n = run.hospitals.length;
      const planned = hospitalLevelGuarantee(
        run.config,
        Array.from({ length: run.config.rounds }, () => roundPrivacyEvent(run.config, n, n)),
        1,
      );
      say(`  privacy plan: ${describeGuarantee(planned)}`);
      const printer = progressPrinter(platform.stack.documents, say);
      const finished = await driveTraining(runId, {
        lifecycle: platform.lifecycle,
        documents: platform.stack.documents,
        events: platform.stack.events,
        jobs: platform.jobs,
        clock: platform.clock,
        onProgress: printer,
      });
      const report = await writeOutputs(platform, finished.runId, outDir, backend.backend, say);
      if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(summary(report, outDir));
      return report.status === 'completed' || report.status === 'halted' ? 0 : 1;
    } finally {
      await platform.close();
      logger.close();
    }
  },
};

async function prepareData(
  config: TrainingConfig,
  data: string | undefined,
  outDir: string,
  say: (line: string) => void,
) {
  if (data) {
    const dataDir = path.resolve(data);
    const all = await discoverHospitals(dataDir);
    if (config.hospitals !== undefined && config.hospitals > all.length) {
      throw new UserError(
        `--hospitals ${config.hospitals} but ${dataDir} holds only ${all.length}: ${all.join(', ')}`,
      );
    }
    const hospitals = all.slice(0, config.hospitals ?? all.length);
    if (config.quorum !== undefined && config.quorum > hospitals.length)
      throw new UserError(`--quorum ${config.quorum} is more than the ${hospitals.length} hospitals`);
    return { dataDir, hospitals };
  }
  const dataDir = path.join(outDir, 'data');
  const cohort = generateCohortOrExplain({
    preset: config.preset,
    hospitals: config.hospitals,
    patients: config.patients,
    seed: config.seed,
  });
  await writeCohort(cohort, dataDir);
  say(`Generated a synthetic cohort (${cohort.preset}, seed ${cohort.seed}) in ${dataDir}`);
  return { dataDir, hospitals: cohort.hospitals.map((h) => h.hospitalId) };
}

async function storedRunData(home: string, runId: string) {
  return withExistingStore(home, async (platform) => {
    const run = await platform.lifecycle.getRun(runId);
    if (!run) throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs there`);
    return {
      dataDir: run.dataSource.location,
      hospitals: run.hospitals,
      outputDirectory: run.outputDirectory,
    };
  });
}

/** The final model folder, report.json and report.html. */
async function writeOutputs(
  platform: EmbeddedPlatform,
  runId: string,
  outDir: string,
  backend: string,
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

  let modelDir: string | null = null;
  const baselines: TrainingReport['baselines'] = [];
  const notes: string[] = [];
  if (run.latestModelVersionId) {
    const { artifacts } = await platform.models.load(run.latestModelVersionId);
    modelDir = path.join(outDir, 'model');
    await mkdir(modelDir, { recursive: true });
    await writeFile(path.join(modelDir, 'model.json'), JSON.stringify(artifacts.modelJson));
    await writeFile(path.join(modelDir, 'weights.bin'), artifacts.weights);
    say('Computing simulation-only baselines (central and local-only training of the same architecture)…');
    const { model, preprocessor } = await loadHimasModel(artifacts);
    try {
      const b = await computeSimulationBaselines({
        cohorts,
        hospitals: run.hospitals,
        config: run.config,
        federatedModel: model,
        federatedPreprocessor: preprocessor,
      });
      baselines.push(
        {
          name: 'federated (exact)',
          description: 'the final federated model, scored on all test stays pooled exactly',
          quality: b.federated,
        },
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
    } finally {
      model.dispose();
    }
  }
  notes.push(
    "Pooled metrics per model version come from the hospitals' risk histograms (1000 bins); no record left any hospital.",
  );
  const report = await buildTrainingReport({
    run,
    documents: platform.stack.documents,
    models: platform.models,
    backend,
    hospitalSizes: sizes,
    finalModelDirectory: modelDir,
    baselines,
    notes,
  });
  await writeFile(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(outDir, 'report.html'), renderReportHtml(report));
  return report;
}

function summary(report: TrainingReport, outDir: string): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `Run ${report.runId} ${report.status}${report.haltReason ? ` (${report.haltReason})` : ''} in ${fmt(report.wallSeconds, 1)} s on the ${report.backend} backend`,
  );
  const final = report.finalModel;
  if (final) {
    lines.push(
      `Final model ${final.versionId}${final.directory ? ` → ${path.relative(process.cwd(), final.directory) || final.directory}` : ''}`,
    );
    lines.push(`  ${'test split'.padEnd(24)} ${METRICS_HEADER}`);
    for (const h of report.hospitals)
      lines.push(metricsRow(h.hospitalId, final.quality?.perHospital[h.hospitalId]));
    lines.push(metricsRow('pooled (histograms)', final.quality?.pooled));
  }
  if (report.baselines.length > 0) {
    lines.push(
      'Comparison on the same test stays (simulation only: central and local-only pool or isolate records):',
    );
    for (const b of report.baselines) {
      const per = report.hospitals
        .map((h) => `${h.hospitalId} ${fmt(b.quality.perHospital[h.hospitalId]?.auroc)}`)
        .join(', ');
      lines.push(`  ${b.name.padEnd(18)} pooled AUROC ${fmt(b.quality.pooled.auroc)}   (${per})`);
    }
  }
  for (const g of report.privacy) lines.push(`Privacy: ${describeGuarantee(g)}`);
  lines.push(
    `Report: ${path.join(path.relative(process.cwd(), outDir) || '.', 'report.html')} (and report.json)`,
  );
  return `${lines.join('\n')}\n`;
}
