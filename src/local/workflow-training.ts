import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { TOPICS } from '../../schemas/events';
import type { TrainingConfig } from '../../schemas/training-config';
import { Coordinator } from '../services/coordinator';
import { stackConnectors } from './connectors/stack-connectors';
import type { EmbeddedPlatform } from './embedded-platform';
import { executeWorkflow, loadWorkflowFile, type Callable, type WorkflowOutcome } from './workflows';

/** The workflow that deploys to Cloud Workflows; every local run executes this very file. */
export const TRAINING_WORKFLOW = path.resolve(__dirname, '..', '..', 'workflows', 'federated-training.yaml');
export const LOCAL_COORDINATOR_URL = 'http://coordinator.himas.internal';
export const LOCAL_PROJECT = 'himas-local';
export const JOB_PREFIX = 'himas-train-';

export interface TrainingWorkflowInput {
  runId: string;
  hospitals: string[];
  config: TrainingConfig;
  dataDir: string;
  outputDirectory?: string;
  resume: boolean;
  /** Where the workflow's sys.log entries go. */
  log?: (entry: { severity: string; message: unknown }) => void;
}

/**
 * Runs workflows/federated-training.yaml on the local engine against an embedded platform: the
 * connectors it calls are bound to the platform (see src/local/connectors), its environment is the
 * one Terraform gives it in the cloud. Every step is idempotent, so a crashed run continues by
 * executing the workflow again with `resume: true`.
 */
export async function runTrainingWorkflow(
  platform: EmbeddedPlatform,
  input: TrainingWorkflowInput,
): Promise<WorkflowOutcome> {
  const connectors = stackConnectors({
    documents: platform.stack.documents,
    events: platform.stack.events,
    jobs: platform.jobs,
    coordinator: new Coordinator(platform.lifecycle),
    coordinatorUrl: LOCAL_COORDINATOR_URL,
    projectId: LOCAL_PROJECT,
  });
  const callables: Record<string, Callable> = {};
  for (const [name, call] of Object.entries(connectors)) callables[name] = (args) => call(args);
  return executeWorkflow(
    loadWorkflowFile(TRAINING_WORKFLOW),
    {
      runId: input.runId,
      hospitals: input.hospitals,
      config: input.config,
      resume: input.resume,
      outputDirectory: input.outputDirectory ?? null,
      // Locally the Firestore binding lets the bus deliver before every poll, so nothing is in
      // flight once the jobs have finished: the deadline can be declared at once.
      deadlineGraceSeconds: 0,
    },
    {
      callables,
      env: {
        GOOGLE_CLOUD_PROJECT_ID: LOCAL_PROJECT,
        GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: randomUUID(),
        HIMAS_REGION: 'local',
        HIMAS_COORDINATOR_URL: LOCAL_COORDINATOR_URL,
        HIMAS_TOPIC_ROUNDS: TOPICS.rounds,
        HIMAS_JOB_PREFIX: JOB_PREFIX,
        HIMAS_HOSPITALS: input.hospitals.join(','),
        HIMAS_DATA_KIND: 'csv',
        HIMAS_DATA_LOCATION: input.dataDir,
      },
      log: input.log ?? (() => undefined),
    },
  );
}
