import { mkdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { RunDocument } from '../../schemas/documents';
import type { TrainingReport } from '../../schemas/report';
import type { TrainingConfig } from '../../schemas/training-config';
import {
  isFinished,
  type WorkflowExecution,
  type WorkflowExecutions,
} from '../adapters/gcp/workflow-executions';
import { buildTrainingReport } from '../local/training-report';
import type { DocumentStore } from '../ports/document-store';
import type { ModelRegistry } from '../ports/model-registry';
import { readRun } from '../services/run-documents';
import { readRunVerdict } from '../services/run-verdict';
import { exitCode } from './exit-codes';
import { explainWriteError } from './output-paths';
import { privacyPlanLines } from './privacy-plan-view';
import { progressPrinter } from './progress-printer';
import { watchRounds } from './round-watcher';
import {
  NOISY_POOLED_METRICS,
  SITE_INTERCEPTS_NOTE,
  writeReportFiles,
  writeServedModel,
} from './train-outputs';
import { trainExitCode, trainSummary } from './train-summary';
import { UserError } from './user-error';

/**
 * `himas train --stack gcp`: starts an execution of the deployed training workflow (the same
 * workflows/federated-training.yaml the local engine runs) through the Workflows Executions API,
 * then follows the run where the coordinator and the aggregator write it, in Firestore, with the
 * same per-round progress, summary and report as a local run. The hospitals' records never reach
 * this process: the report has no record counts and no simulation baselines.
 */
export interface CloudTrainingDeps {
  executions: WorkflowExecutions;
  documents: DocumentStore;
  models: ModelRegistry;
  /** How the user reruns this command, for the --resume hint (e.g. `--stack gcp --project p --region r`). */
  commandFlags: string;
  say: (line: string) => void;
  /** How often the execution's state is read (the rounds are watched at a quarter of it). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CloudTrainingInput {
  runId: string;
  /** The run's settings; absent when resuming (the stored run keeps its own). */
  config?: TrainingConfig;
  resume: boolean;
  outDir: string;
  json: boolean;
}

const DEFAULT_POLL_MS = 5000;

export async function trainOnCloud(deps: CloudTrainingDeps, input: CloudTrainingInput): Promise<number> {
  const { say, documents } = deps;
  const existing = await readRun(documents, input.runId);
  if (input.resume && !existing)
    throw new UserError(
      `no run '${input.runId}' in the project's Firestore; \`himas status ${deps.commandFlags}\` lists the runs there`,
    );
  if (!input.resume && existing)
    throw new UserError(
      `run '${input.runId}' already exists in the project's Firestore; \`himas train ${deps.commandFlags} --resume ${input.runId}\` continues it, or choose another --run-id`,
    );
  if (existing && existing.status !== 'running') {
    const verdict = await readRunVerdict(documents, deps.models, existing);
    process.stdout.write(
      `Run ${existing.runId} is already ${existing.status}: ${verdict.reason}. Nothing to resume; nothing was recomputed.\n`,
    );
    return trainExitCode({ outcome: verdict } as TrainingReport);
  }
  try {
    await mkdir(input.outDir, { recursive: true });
  } catch (error) {
    throw explainWriteError(error, 'the run folder', input.outDir);
  }

  // The workflow takes its hospitals and declared train sizes from its deployment (HIMAS_HOSPITALS,
  // HIMAS_DECLARED_TRAIN_STAYS); the CLI sends only what the user chose.
  const argument: Record<string, unknown> = input.resume
    ? { runId: input.runId, resume: true }
    : { runId: input.runId, config: input.config };
  const running = input.resume ? await deps.executions.activeFor(input.runId) : undefined;
  const started = running ?? (await deps.executions.start(argument));
  say(
    running
      ? `HIMAS run ${input.runId} on Google Cloud: following execution ${running.name}, still running (no second one started)`
      : `HIMAS run ${input.runId}${input.resume ? ' (resumed)' : ''} on Google Cloud: execution ${started.name}`,
  );
  say(`  ${consoleLink(started.name)}`);

  const pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let printer: ReturnType<typeof progressPrinter> | undefined;
  let watcher: ReturnType<typeof watchRounds> | undefined;
  let execution: WorkflowExecution = started;
  try {
    while (!isFinished(execution.state)) {
      // The run document appears once the workflow's first step has created it: then the plan is
      // printed (its declared sizes are the deployment's) and its rounds are watched.
      if (!printer) {
        const run = await readRun(documents, input.runId);
        if (run) {
          for (const line of privacyPlanLines(run.config, run.hospitals, run.declaredTrainStays))
            say(`  ${line}`);
          printer = progressPrinter(documents, run.config.rounds, say);
          watcher = watchRounds(documents, input.runId, (doc) => printer!.roundEnded(doc), pollMs / 4);
        }
      }
      await sleep(pollMs);
      execution = await deps.executions.get(started.name);
    }
  } finally {
    await watcher?.stop();
  }
  if (execution.state !== 'SUCCEEDED')
    throw new UserError(
      `the training workflow execution ${execution.name} ended ${execution.state}: ${execution.error ?? 'no error given'}; continue with \`himas train ${deps.commandFlags} --resume ${input.runId}\``,
      exitCode('failed'),
    );

  const run = await readRun(documents, input.runId);
  if (!run)
    throw new UserError(
      `execution ${execution.name} succeeded but run '${input.runId}' is not in Firestore: is this the project the workflow writes to?`,
      exitCode('failed'),
    );
  const report = await writeCloudRunOutputs(deps, run, input.outDir);
  if (input.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(trainSummary(report, input.outDir));
  return trainExitCode(report);
}

/** report.json, report.html and, when the run left a servable model, `model/`, as a local run's. */
async function writeCloudRunOutputs(
  deps: Pick<CloudTrainingDeps, 'documents' | 'models'>,
  run: RunDocument,
  outDir: string,
): Promise<TrainingReport> {
  const verdict = await readRunVerdict(deps.documents, deps.models, run);
  const modelDir = path.join(outDir, 'model');
  await rm(modelDir, { recursive: true, force: true });
  if (verdict.modelVersionId)
    await writeServedModel(deps.models, verdict, modelDir, verdict.modelVersionId, run.config.siteIntercept);
  const notes = [
    NOISY_POOLED_METRICS,
    "Trained on Google Cloud: the hospitals' records stayed in their buckets, so this report has no record counts and no simulation baselines (central, local-only), which need the records pooled.",
  ];
  if (verdict.kind !== 'succeeded') notes.unshift(`No model to serve: ${verdict.reason}.`);
  if (run.config.siteIntercept) notes.push(SITE_INTERCEPTS_NOTE);
  const report = await buildTrainingReport({
    run,
    documents: deps.documents,
    models: deps.models,
    // Each hospital's job picks its own backend (tfjs-node on the CPU image, CUDA on the GPU one).
    backend: 'Cloud Run job',
    hospitalSizes: {},
    outcome: verdict,
    finalModelDirectory: verdict.modelVersionId ? modelDir : null,
    baselines: [],
    notes,
  });
  await writeReportFiles(report, outDir);
  return report;
}

/** projects/P/locations/R/workflows/W/executions/E → its page in the Console. */
function consoleLink(name: string): string {
  const m = /^projects\/([^/]+)\/locations\/([^/]+)\/workflows\/([^/]+)\/executions\/([^/]+)$/.exec(name);
  return m
    ? `https://console.cloud.google.com/workflows/workflow/${m[2]}/${m[3]}/execution/${m[4]}?project=${m[1]}`
    : name;
}
