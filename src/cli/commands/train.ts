import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TrainingReport } from '../../../schemas/report';
import { DP_SGD_RECIPE, NON_PRIVATE_RECIPE, type TrainingConfig } from '../../../schemas/training-config';
import { CsvCohortSource } from '../../adapters/cohort/csv-cohort-source';
import { CONFIG_FIELDS, flagName, loadTrainingConfig } from '../../config/training-config-loader';
import { initializeBackend } from '../../core/model';
import { openEmbeddedPlatform } from '../../local/embedded-platform';
import { openEmulatorPlatform } from '../../local/stack/emulator-platform';
import { ensureStack, stackConfigOf, type StackState } from '../../local/stack/stack-control';
import { openStackPorts } from '../../config/stack-config';
import { readRun } from '../../services/run-documents';
import { computeSimulationBaselines, privacyCostBaseline } from '../../local/simulation-baselines';
import { runTrainingWorkflow, TRAINING_WORKFLOW, type TrainingPlatform } from '../../local/workflow-training';
import { watchRounds } from '../round-watcher';
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
import { declaredCohortSizes, discoverHospitals, roughly, writeCohort } from '../cohort-files';
import { describePlan } from '../privacy-plan-view';
import { budgetRefusals, describeRefusal } from '../budget-precheck';
import { hospitalStateDir, localHospitalLedger } from '../../adapters/ledger/local-hospital-ledger';
import { planForHospital } from '../../services/patient-privacy';
import { METRICS_HEADER, fmt, metricsRow } from '../format-metrics';
import type { Command } from '../main';
import { progressPrinter } from '../progress-printer';
import { renderReportHtml } from '../report/report-html';
import { UserError } from '../user-error';
import { generateCohortOrExplain } from './data';
import { parseOutbreakSpec } from '../outbreak-spec';
import { withExistingStore } from '../existing-store';
import { defaultHome, newRunId } from '../run-locations';

const CONFIG_FLAGS = Object.keys(CONFIG_FIELDS).map(flagName);

const HELP = `Usage: himas train [--data DIR] [--rounds R] [--hospitals N] [--seed S] [--out RUN_DIR] [--json]
                   [--stack embedded|emulators]
       himas train --resume RUN_ID [--stack embedded|emulators]

Runs federated training of the ICU-mortality model on the embedded stack: each hospital trains on
its own records in its own process; what leaves it (DP-SGD updates, noisy evaluations) is charged
to its own privacy ledger first; the aggregation function combines the updates with DP-FedAvg into
a new model version each round. Without --data it generates the default
synthetic cohort (3 hospitals).

  --data DIR          folder with <hospital>.train.csv and <hospital>.test.csv (himas data generate)
  --out RUN_DIR       where report.json, report.html and model/ go (default runs/<run id>)
  --json              print only the report as JSON on stdout (progress stays on stderr)
  --resume RUN_ID     continue a run that was interrupted; nothing is counted twice
  --config FILE       a JSON or YAML file of training settings (flags win over it)
  --run-id ID         name the run (default run-<date>-<time>-<random>)
  --home DIR          the embedded store (default .himas, or $HIMAS_HOME)
  --job-runner KIND   process (default: one process per hospital job, as in Cloud Run) | in-process
  --stack KIND        embedded (default) | emulators: the Google Cloud adapters on the gcloud
                      Pub/Sub and Firestore emulators, functions on functions-framework behind push
                      subscriptions (starts \`himas stack up\` in --home, or reuses the running one)

Training settings (also HIMAS_<NAME> environment variables, or fields of --config):
  ${CONFIG_FLAGS.map((f) => `--${f}`).join('  ')}
  e.g. --rounds 5 --local-epochs 2 --batch-size 64 --clip-norm 2 --noise-multiplier 0 --quorum 2

Patient-level DP-SGD is on by default (--patient-privacy dp-sgd): every release of a run fits in
ε = 1 per hospital (δ = 1e-5), at most --patient-budget-epsilon 3 over all runs on a hospital. Recipe settings you leave unset
follow the privacy mode:
  dp-sgd: ${recipeText(DP_SGD_RECIPE)}
  none:   ${recipeText(NON_PRIVATE_RECIPE)}`;

function recipeText(recipe: typeof DP_SGD_RECIPE | typeof NON_PRIVATE_RECIPE): string {
  return `--model ${recipe.model} --hidden-units ${recipe.hiddenUnits.join(',')} --local-epochs ${recipe.localEpochs} --batch-size ${recipe.batchSize} --local-learning-rate ${recipe.localLearningRate}`;
}

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
      stack: { type: 'string' },
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
    const stackKind = stringFlag(values, 'stack') ?? 'embedded';
    if (stackKind !== 'embedded' && stackKind !== 'emulators')
      throw new UserError(`--stack '${stackKind}' must be 'embedded' or 'emulators'`);
    if (stackKind === 'emulators' && values['job-runner']) {
      throw new UserError('--stack emulators runs every hospital job as its own process; drop --job-runner');
    }
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
    const runId = resume ?? stringFlag(values, 'run-id') ?? newRunId(new Date());
    // The emulator stack is started (or reused) first: a resumed run is read from its Firestore.
    const stackState = stackKind === 'emulators' ? await ensureStack(home, say) : undefined;
    const stored = resume
      ? stackState
        ? await storedEmulatorRunData(stackState, home, resume)
        : await storedRunData(home, resume)
      : undefined;
    const outDir = path.resolve(
      stringFlag(values, 'out') ?? stored?.outputDirectory ?? path.join('runs', runId),
    );
    await mkdir(outDir, { recursive: true });
    const logger = fileLogger(path.join(outDir, 'run.log.jsonl'), 'himas-train');
    logs.backendSelected(logger, backend.backend, backend.tried.map((t) => t.backend).join(', '));

    const { dataDir, hospitals, declaredTrainStays } =
      stored ?? (await prepareData(config!, stringFlag(values, 'data'), outDir, say));
    if (!resume) {
      // The hospitals' jobs refuse a run their budget cannot pay for; say so before starting one.
      const stateDir = stackState
        ? path.join(path.dirname(stackState.keysDir), 'hospital-state')
        : hospitalStateDir(home);
      const refusals = await budgetRefusals(
        config!,
        hospitals,
        declaredTrainStays,
        localHospitalLedger(stateDir),
      );
      if (refusals.length > 0)
        throw new UserError(
          refusals.map((r) => describeRefusal(r, config!, hospitalStateDir(home))).join('\n'),
        );
    }
    const platform: TrainingPlatform = stackState
      ? openEmulatorPlatform({ state: stackState, dataDir, logger })
      : await openEmbeddedPlatform({ home, dataDir, logger, jobs: jobRunner });
    try {
      const run = resume ? await platform.lifecycle.getRun(runId) : { config: config!, hospitals, runId };
      if (!run) throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs there`);
      say(
        `HIMAS run ${runId}${resume ? ' (resumed)' : ''}: ${run.hospitals.length} hospitals, ${run.config.rounds} rounds, backend ${backend.backend}`,
      );
      for (const line of privacyPlanLines(run.config, run.hospitals, declaredTrainStays)) say(`  ${line}`);
      say(
        `  driving the rounds with ${path.relative(process.cwd(), TRAINING_WORKFLOW)} on the local Workflows engine`,
      );
      const printer = progressPrinter(platform.stack.documents, run.config.rounds, say);
      const watcher = watchRounds(platform.stack.documents, runId, (doc) => printer.roundEnded(doc));
      let outcome;
      try {
        outcome = await runTrainingWorkflow(platform, {
          runId,
          hospitals: run.hospitals,
          config: run.config,
          dataDir,
          declaredTrainStays,
          outputDirectory: outDir,
          resume: Boolean(resume),
          // Pushes to the aggregate function travel through the emulator; give the last ones time.
          deadlineGraceSeconds: stackKind === 'emulators' ? 10 : 0,
          log: (entry) => {
            logger.write({
              severity: toSeverity(entry.severity),
              event: 'workflow.log',
              message: JSON.stringify(entry.message),
              entry: entry.message,
            });
            printer.line(`workflow: ${describeWorkflowLog(entry.message)}`);
          },
        });
      } finally {
        await watcher.stop();
      }
      if (!outcome.ok) {
        const where = outcome.location
          ? ` at step '${outcome.location.step}' (${outcome.location.subworkflow})`
          : '';
        const cause = describeWorkflowError(outcome.error);
        // A hospital that refused for its privacy budget will refuse again: resuming cannot help.
        const refused = /refuses (run|to read its data)/.test(cause);
        throw new Error(
          `the training workflow failed${where}: ${cause}${refused ? '' : `; continue with \`himas train --resume ${runId}\``}`,
        );
      }
      await platform.stack.events.idle();
      const finished = { runId };
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
  if (data && config.outbreak !== undefined)
    throw new UserError(
      `--outbreak injects into the synthetic cohort HIMAS generates; drop --data, or make the folder with \`himas data generate --outbreak ...\``,
    );
  if (data) {
    const dataDir = path.resolve(data);
    const all = await discoverHospitals(dataDir);
    if (config.hospitals !== undefined && config.hospitals > all.length) {
      throw new UserError(
        `--hospitals ${config.hospitals} but ${dataDir} holds only ${all.length}: ${all.join(', ')}`,
      );
    }
    const hospitals = all.slice(0, config.hospitals ?? all.length);
    await checkCohortFiles(dataDir, hospitals);
    if (config.quorum !== undefined && config.quorum > hospitals.length)
      throw new UserError(`--quorum ${config.quorum} is more than the ${hospitals.length} hospitals`);
    const cohorts = new CsvCohortSource(dataDir);
    const declared = await declaredCohortSizes(
      dataDir,
      hospitals,
      async (h) => (await cohorts.read(h, 'train')).length,
    );
    for (const note of declared.notes) say(`  ${note}`);
    return { dataDir, hospitals, declaredTrainStays: declared.sizes };
  }
  const dataDir = path.join(outDir, 'data');
  const cohort = generateCohortOrExplain({
    preset: config.preset,
    hospitals: config.hospitals,
    patients: config.patients,
    seed: config.seed,
    ...(config.outbreak === undefined ? {} : { outbreak: parseOutbreakSpec(config.outbreak) }),
  });
  await writeCohort(cohort, dataDir);
  say(`Generated a synthetic cohort (${cohort.preset}, seed ${cohort.seed}) in ${dataDir}`);
  if (cohort.truth.outbreak)
    say(
      `  with an injected outbreak: ${cohort.truth.outbreak.injectedStays} extra sepsis-like stays at ${cohort.truth.outbreak.hospitalId} in weeks ${cohort.truth.outbreak.startWeek}–${cohort.truth.outbreak.startWeek + cohort.truth.outbreak.weeks - 1}`,
    );
  return {
    dataDir,
    hospitals: cohort.hospitals.map((h) => h.hospitalId),
    declaredTrainStays: Object.fromEntries(
      cohort.hospitals.map((h) => [h.hospitalId, roughly(h.train.length)]),
    ),
  };
}

/**
 * Reads every hospital's CSVs once before anything starts, so a malformed file is one clear error
 * now rather than a failed hospital job in the middle of a run. (Only simulation data is local.)
 */
async function checkCohortFiles(dataDir: string, hospitals: string[]): Promise<void> {
  const cohorts = new CsvCohortSource(dataDir);
  for (const hospitalId of hospitals) {
    for (const split of ['train', 'test'] as const) {
      try {
        await cohorts.read(hospitalId, split);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
    }
  }
}

async function storedRunData(home: string, runId: string) {
  return withExistingStore(home, async (platform) => {
    const run = await platform.lifecycle.getRun(runId);
    if (!run) throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs there`);
    return {
      dataDir: run.dataSource.location,
      hospitals: run.hospitals,
      declaredTrainStays: run.declaredTrainStays,
      outputDirectory: run.outputDirectory,
    };
  });
}

/**
 * The stored run on the emulator stack. The emulators keep everything in memory, so a run can be
 * resumed only while the stack that ran it is still up (a restarted stack starts empty).
 */
async function storedEmulatorRunData(state: StackState, home: string, runId: string) {
  const ports = openStackPorts(stackConfigOf(state));
  try {
    const run = await readRun(ports.documents, runId);
    if (!run) {
      throw new UserError(
        `no run '${runId}' in the emulator stack of ${home} (started ${state.startedAt}); the emulators keep runs only while that stack is up`,
      );
    }
    return {
      dataDir: run.dataSource.location,
      hospitals: run.hospitals,
      declaredTrainStays: run.declaredTrainStays,
      outputDirectory: run.outputDirectory,
    };
  } finally {
    await ports.close();
  }
}

/** The final model folder, report.json and report.html. */
async function writeOutputs(
  platform: TrainingPlatform,
  runId: string,
  outDir: string,
  backend: string,
  say: (line: string) => void,
): Promise<TrainingReport> {
  const run = (await platform.lifecycle.getRun(runId))!;
  const cohorts = new CsvCohortSource(run.dataSource.location);
  // What the run knows publicly: the declared sizes (the exact counts never left a hospital).
  const sizes: Record<string, { trainStays: number | null; testStays: number | null }> = {};
  for (const h of run.hospitals)
    sizes[h] = { trainStays: run.declaredTrainStays[h] ?? null, testStays: null };

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
      const privacyCost = privacyCostBaseline(b, run.config);
      if (privacyCost) {
        baselines.push(privacyCost.baseline);
        notes.push(privacyCost.note);
      }
    } finally {
      model.dispose();
    }
  }
  notes.push(
    "Pooled metrics per model version come from the hospitals' noisy risk histograms (13 public bins, Gaussian noise charged to each hospital's ledger): they are estimates, with 95 % intervals of the noise; no record and no exact count left any hospital. The 'federated (exact)' baseline is the simulation's own exact scoring.",
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

const eps = (x: number | null) => (x === null ? '∞' : x.toFixed(3));

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
    lines.push(`  ${'test split (DP-noised)'.padEnd(24)} ${METRICS_HEADER}`);
    for (const h of report.hospitals)
      lines.push(metricsRow(h.hospitalId, final.quality?.perHospital[h.hospitalId]));
    lines.push(metricsRow('pooled (noisy histograms)', final.quality?.pooled));
    const auroc = final.quality?.intervals?.auroc;
    if (auroc) lines.push(`  pooled AUROC 95 % interval of the DP noise: ${fmt(auroc[0])}–${fmt(auroc[1])}`);
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
  for (const h of report.hospitalPrivacy)
    lines.push(
      `  ${h.hospitalId.padEnd(22)} patient-level ε = ${eps(h.run.epsilon)} this run (train split ${eps(h.run.train)}, test split ${eps(h.run.test)}), lifetime ε = ${eps(h.lifetime.epsilon)} of ${h.budgetEpsilon}, δ = ${h.delta}`,
    );
  lines.push(
    `Report: ${path.join(path.relative(process.cwd(), outDir) || '.', 'report.html')} (and report.json)`,
  );
  return `${lines.join('\n')}\n`;
}

/** The privacy plan, per unit, before training: what the run will state when it ends. */
function privacyPlanLines(
  config: TrainingConfig,
  hospitals: string[],
  declaredTrainStays: Record<string, number>,
): string[] {
  const planned = hospitalLevelGuarantee(
    config,
    Array.from({ length: config.rounds }, () =>
      roundPrivacyEvent(config, hospitals.length, hospitals.length),
    ),
    1,
  );
  const lines = [`privacy plan: ${describeGuarantee(planned)}`];
  if (config.patientPrivacy === 'none')
    lines.push(
      "privacy plan: no patient-level DP-SGD (patientPrivacy none): ε = ∞ for every hospital's patients, recorded in each hospital's ledger; no later run on them can claim a finite guarantee",
    );
  for (const hospitalId of hospitals) {
    try {
      const plan = planForHospital(config, declaredTrainStays[hospitalId], hospitalId);
      lines.push(
        `privacy plan: ${hospitalId}: ${describePlan(plan)}; lifetime budget ε = ${config.patientBudgetEpsilon}`,
      );
    } catch (error) {
      throw new UserError(`privacy plan for ${hospitalId}: ${(error as Error).message}`);
    }
  }
  return lines;
}

function toSeverity(severity: string): 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL' {
  const upper = severity.toUpperCase();
  return (
    (['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL'] as const).find((s) => s === upper) ?? 'INFO'
  );
}

function describeWorkflowLog(message: unknown): string {
  if (message && typeof message === 'object') {
    const { event, ...rest } = message as Record<string, unknown>;
    return `${String(event ?? 'log')} ${JSON.stringify(rest)}`;
  }
  return String(message);
}

/** The error's message, and for a failed parallel step the first branch's own error (the cause). */
function describeWorkflowError(error: unknown): string {
  if (!error || typeof error !== 'object') return String(error);
  const e = error as { message?: unknown; tags?: unknown; branches?: Array<{ error?: unknown }> };
  const cause = e.branches?.find((b) => b.error !== undefined)?.error;
  if (cause !== undefined) return describeWorkflowError(cause);
  return `${String(e.message ?? JSON.stringify(error))}${Array.isArray(e.tags) ? ` [${e.tags.join(', ')}]` : ''}`;
}
