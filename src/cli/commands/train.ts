import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunDocument } from '../../../schemas/documents';
import type { TrainingConfig } from '../../../schemas/training-config';
import type { TrainingReport } from '../../../schemas/report';
import { CONFIG_FIELDS, flagName, loadTrainingConfig } from '../../config/training-config-loader';
import { openStackPorts } from '../../config/stack-config';
import type { RunVerdict } from '../../core/agents/run-verdict';
import { initializeBackend } from '../../core/model';
import { openEmulatorPlatform } from '../../local/stack/emulator-platform';
import { ensureStack, stackConfigOf, stackFolder, type StackState } from '../../local/stack/stack-control';
import { runTrainingWorkflow, TRAINING_WORKFLOW, type TrainingPlatform } from '../../local/workflow-training';
import { deferredFileLogger } from '../../logging/logger';
import { logs } from '../../logs';
import type { DocumentStore } from '../../ports/document-store';
import type { ModelRegistry } from '../../ports/model-registry';
import { readRun } from '../../services/run-documents';
import { readRunVerdict } from '../../services/run-verdict';
import { parseCommandArgs, stringFlag } from '../args';
import { privacyPlanLines } from '../privacy-plan-view';
import { budgetRefusals, describeRefusal } from '../budget-precheck';
import { hospitalStateDir, localHospitalLedger } from '../../adapters/ledger/local-hospital-ledger';
import { withExistingStore } from '../existing-store';
import { exitCode } from '../exit-codes';
import type { Command } from '../main';
import {
  cloudFlagsText,
  cloudTarget,
  CLOUD_FLAGS,
  openCloudReader,
  openWorkflowExecutions,
} from '../cloud-target';
import { trainOnCloud } from '../cloud-training';
import { checkWritableFolder, makeFolder } from '../output-paths';
import { progressPrinter } from '../progress-printer';
import { watchRounds } from '../round-watcher';
import { defaultHome, newRunId } from '../run-locations';
import { trainHelp } from '../train-help';
import { holdStore, openTrainingStore } from '../training-store';
import { EnrolmentError } from '../../services/hospital-enrolment';
import { MissingHospitalKeyError } from '../../ports/hospital-keys';
import { writeRunOutputs } from '../train-outputs';
import { checkRunFolder, checkRunId, planData, writePlannedData } from '../train-plan';
import { trainExitCode, trainSummary } from '../train-summary';
import { UserError } from '../user-error';
import {
  describeWorkflowError,
  jobFailureSummary,
  toSeverity,
  workflowLogReader,
} from '../workflow-log-lines';

const CONFIG_FLAGS = Object.keys(CONFIG_FIELDS).map(flagName);
const BOOLEAN_CONFIG_FLAGS = new Set(
  Object.entries(CONFIG_FIELDS)
    .filter(([, kind]) => kind === 'boolean')
    .map(([field]) => `--${flagName(field)}`),
);
const BOOLEAN_WORDS = /^(true|yes|on|1|false|no|off|0)$/i;

/**
 * `--site-intercept` alone means `--site-intercept=true`: a boolean setting's flag takes a value
 * (`--secure-aggregation false`) but needs none to turn it on.
 */
function bareBooleansAsTrue(argv: string[]): string[] {
  return argv.map((arg, i) =>
    BOOLEAN_CONFIG_FLAGS.has(arg) && !BOOLEAN_WORDS.test(argv[i + 1] ?? '') ? `${arg}=true` : arg,
  );
}

export const trainCommand: Command = {
  summary: 'train the federated model: embedded, on the emulators, or the deployed workflow (--stack gcp)',
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
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    };
    for (const flag of CONFIG_FLAGS) options[flag] = { type: 'string' };
    Object.assign(options, CLOUD_FLAGS);
    const { values } = parseCommandArgs('train', bareBooleansAsTrue(argv), options);
    if (values.help) {
      process.stdout.write(`${trainHelp()}\n`);
      return 0;
    }
    const jobRunner = stringFlag(values, 'job-runner') ?? 'process';
    if (jobRunner !== 'process' && jobRunner !== 'in-process')
      throw new UserError(`--job-runner '${jobRunner}' must be 'process' or 'in-process'`);
    const stackKind = stringFlag(values, 'stack') ?? 'embedded';
    if (stackKind !== 'embedded' && stackKind !== 'emulators' && stackKind !== 'gcp')
      throw new UserError(`--stack '${stackKind}' must be 'embedded', 'emulators' or 'gcp'`);
    if (stackKind === 'gcp') return trainOnGcp(values);
    for (const flag of Object.keys(CLOUD_FLAGS))
      if (values[flag] !== undefined)
        throw new UserError(`--${flag} names a Google Cloud deployment: it needs --stack gcp`);
    if (stackKind === 'emulators' && values['job-runner']) {
      throw new UserError('--stack emulators runs every hospital job as its own process; drop --job-runner');
    }
    const home = path.resolve(stringFlag(values, 'home') ?? defaultHome());
    const { resume, runId, config } = runSettings(values, 'settings and data');
    const json = values.json === true;
    const force = values.force === true;
    const say = (line: string) => process.stderr.write(`${line}\n`);

    // Everything that can be checked is checked before anything is written or any ε is spent,
    // another run holding the store first (before generating a cohort only to be refused).
    if (stackKind === 'embedded') checkWritableFolder(home, 'the HIMAS store');
    const storeHold = stackKind === 'embedded' ? await holdStore(home) : { release: async () => undefined };
    try {
      const plan = config
        ? await planData(config, stringFlag(values, 'data'), runFolder(stringFlag(values, 'out'), runId))
        : undefined;
      if (plan) checkRunFolder(runFolder(stringFlag(values, 'out'), runId), { force, resume: false });
      // The hospitals' jobs refuse a run their budget cannot pay for (before reading a record); on a
      // laptop their ledgers are here, so say so now, before anything starts.
      if (plan && config) {
        // On the emulator stack the hospitals' state sits in the stack's folder, which starts empty.
        const stateDir =
          stackKind === 'emulators' ? path.join(stackFolder(home), 'hospital-state') : hospitalStateDir(home);
        const refusals = await budgetRefusals(
          config,
          plan.hospitals,
          plan.declaredTrainStays,
          localHospitalLedger(stateDir),
        );
        if (refusals.length > 0)
          throw new UserError(
            refusals.map((r) => describeRefusal(r, config, stateDir)).join('\n'),
            exitCode('failed'),
          );
      }

      const backend = await initializeBackend('auto');
      // The emulator stack is started (or reused) first: a resumed run is read from its Firestore.
      const stackState = stackKind === 'emulators' ? await ensureStack(home, say) : undefined;
      const stored = resume
        ? stackState
          ? await storedEmulatorRunData(stackState, home, resume)
          : await storedRunData(home, resume)
        : undefined;
      if (stored?.finished) return reportFinishedRun(stored.finished, json);
      const outDir = runFolder(stringFlag(values, 'out') ?? stored?.outputDirectory ?? undefined, runId);
      if (stored) checkRunFolder(outDir, { force, resume: true });
      const dataDir = stored?.dataDir ?? plan!.dataDir;
      const declaredTrainStays = stored?.declaredTrainStays ?? plan!.declaredTrainStays;
      const logger = deferredFileLogger(path.join(outDir, 'run.log.jsonl'), 'himas-train');
      const platform: TrainingPlatform = stackState
        ? openEmulatorPlatform({ state: stackState, dataDir, logger })
        : await openTrainingStore({ home, dataDir, logger, jobs: jobRunner });
      try {
        if (!resume && (await platform.lifecycle.getRun(runId)))
          throw new UserError(
            `run '${runId}' already exists in ${home}; \`himas train --resume ${runId}\` continues it, or choose another --run-id`,
          );
        makeFolder(outDir, 'the run folder');
        logger.open();
        logs.backendSelected(logger, backend.backend, backend.tried.map((t) => t.backend).join(', '));
        if (plan) await writePlannedData(plan, say);
        const run = resume
          ? await platform.lifecycle.getRun(runId)
          : { config: config!, hospitals: plan!.hospitals, runId };
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
        const workflowLog = workflowLogReader();
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
              const line = workflowLog.line(entry.message);
              if (line !== null) printer.line(`workflow: ${line}`);
            },
          });
        } catch (error) {
          // The local operator step refused (a key file lost or replaced, a revoked hospital):
          // nothing ran and no ε was spent; the message says what to do (rotate).
          if (error instanceof EnrolmentError || error instanceof MissingHospitalKeyError)
            throw new UserError(error.message, exitCode('usage'));
          throw error;
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
          throw new UserError(
            `the training workflow failed${where}: ${cause}${refused ? '' : `; continue with \`himas train --resume ${runId}\``}`,
            exitCode('failed'),
          );
        }
        await platform.stack.events.idle();
        const finished = (await platform.lifecycle.getRun(runId))!;
        const verdict = await readRunVerdict(platform.stack.documents, platform.models, finished);
        const jobs = jobFailureSummary(workflowLog.failures);
        if (verdict.kind === 'failed' && jobs) verdict.reason = `${verdict.reason}; ${jobs}`;
        const report = await writeRunOutputs(platform, runId, outDir, backend.backend, verdict, say);
        if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else process.stdout.write(trainSummary(report, outDir));
        return trainExitCode(report);
      } finally {
        await platform.close();
        logger.close();
      }
    } finally {
      await storeHold.release();
    }
  },
};

/**
 * `himas train --stack gcp`: the deployed workflow trains (src/cli/cloud-training.ts). The data and
 * the hospitals are the deployment's (their buckets, HIMAS_HOSPITALS), so --data and the local
 * stack's flags do not apply.
 */
async function trainOnGcp(values: Record<string, unknown>): Promise<number> {
  for (const flag of ['data', 'job-runner', 'home'])
    if (values[flag] !== undefined)
      throw new UserError(
        `--${flag} does not apply to --stack gcp: the deployed hospitals train on the cohorts in their own buckets`,
      );
  const target = cloudTarget(values, 'train');
  const { resume, runId, config } = runSettings(values, 'settings');
  const outDir = runFolder(stringFlag(values, 'out'), runId);
  checkRunFolder(outDir, { force: values.force === true, resume: Boolean(resume) });
  const reader = openCloudReader(target);
  const workflow = openWorkflowExecutions(target);
  try {
    return await trainOnCloud(
      {
        executions: workflow.executions,
        documents: reader.documents,
        models: reader.models,
        commandFlags: cloudFlagsText(target),
        say: (line) => process.stderr.write(`${line}\n`),
      },
      { runId, config, resume: Boolean(resume), outDir, json: values.json === true },
    );
  } finally {
    await workflow.close();
    await reader.close();
  }
}

/**
 * The run's id and settings from the flags: a resume takes the stored run's settings (`stored`
 * says which), so training flags beside --resume are an error, not silently ignored.
 */
function runSettings(
  values: Record<string, unknown>,
  stored: string,
): { resume: string | undefined; runId: string; config: TrainingConfig | undefined } {
  const configFlags: Record<string, string> = {};
  for (const field of Object.keys(CONFIG_FIELDS)) {
    const text = stringFlag(values, flagName(field));
    if (text !== undefined) configFlags[field] = text;
  }
  const resume = stringFlag(values, 'resume');
  if (resume && (Object.keys(configFlags).length > 0 || values.config || values.data || values['run-id']))
    throw new UserError(`--resume continues a run with its stored ${stored}; drop the other training flags`);
  if (resume !== undefined) checkRunId(resume, '--resume');
  const requestedRunId = stringFlag(values, 'run-id');
  if (requestedRunId !== undefined) checkRunId(requestedRunId, '--run-id');
  const config = resume
    ? undefined
    : loadTrainingConfig({ flags: configFlags, file: stringFlag(values, 'config'), env: process.env });
  return { resume, runId: resume ?? requestedRunId ?? newRunId(new Date()), config };
}

/** The run folder: --out, else the one the run recorded, else runs/<run id>. */
function runFolder(out: string | undefined, runId: string): string {
  return path.resolve(out ?? path.join('runs', runId));
}

/** A finished run is not resumed: say how it ended and where its report is, and change nothing. */
function reportFinishedRun(finished: FinishedRun, json: boolean): number {
  const { run, verdict } = finished;
  const report = run.outputDirectory ? path.join(run.outputDirectory, 'report.json') : null;
  if (json && report && existsSync(report)) process.stdout.write(readFileSync(report, 'utf8'));
  else
    process.stdout.write(
      `Run ${run.runId} is already ${run.status}${run.completedAt ? ` (finished ${run.completedAt})` : ''}: ${verdict.reason}. Nothing to resume; nothing was recomputed or rewritten.${report ? `\nReport: ${path.relative(process.cwd(), path.join(path.dirname(report), 'report.html'))}` : ''}\n`,
    );
  return trainExitCode({ outcome: verdict } as TrainingReport);
}

interface FinishedRun {
  run: RunDocument;
  verdict: RunVerdict;
}

async function storedRunData(home: string, runId: string) {
  return withExistingStore(home, async (platform) => {
    const run = await platform.lifecycle.getRun(runId);
    if (!run) throw new UserError(`no run '${runId}' in ${home}; \`himas status\` lists the runs there`);
    return storedData(run, platform.stack.documents, platform.models);
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
    return storedData(run, ports.documents, ports.models);
  } finally {
    await ports.close();
  }
}

async function storedData(run: RunDocument, documents: DocumentStore, models: ModelRegistry) {
  return {
    dataDir: run.dataSource.location,
    hospitals: run.hospitals,
    declaredTrainStays: run.declaredTrainStays,
    outputDirectory: run.outputDirectory,
    finished:
      run.status === 'running' ? undefined : { run, verdict: await readRunVerdict(documents, models, run) },
  };
}
