import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { TOPICS } from '../../schemas/events';
import type { HospitalSiteStore } from '../ports/hospital-site-store';
import type { TrainingConfig } from '../../schemas/training-config';
import type { DocumentStore } from '../ports/document-store';
import type { EventBus } from '../ports/event-bus';
import type { JobRunner } from '../ports/job-runner';
import type { ModelRegistry } from '../ports/model-registry';
import { Coordinator } from '../services/coordinator';
import type { RunLifecycle } from '../services/run-lifecycle';
import { stackConnectors } from './connectors/stack-connectors';
import {
  executeWorkflow,
  loadWorkflowFile,
  loopbackHttpCallables,
  type Callable,
  type WorkflowOutcome,
} from './workflows';

import type { HospitalKeyProvisioner } from '../ports/hospital-keys';
import { systemClock } from '../ports/clock';
import { enrolSimulatedHospitals } from '../services/hospital-enrolment';

/** The workflow that deploys to Cloud Workflows; every local run executes this very file. */
export const TRAINING_WORKFLOW = path.resolve(__dirname, '..', '..', 'workflows', 'federated-training.yaml');
export const LOCAL_COORDINATOR_URL = 'http://coordinator.himas.internal';
export const LOCAL_PROJECT = 'himas-local';
export const JOB_PREFIX = 'himas-train-';

/** What a local run drives: the embedded platform, or the emulator stack seen from the CLI. */
export interface TrainingPlatform {
  stack: { documents: DocumentStore; events: EventBus };
  /**
   * The simulated hospitals' own key stores (local files): on a laptop the CLI is the operator, so
   * it provisions and enrols a hospital that has no key yet before the run starts.
   */
  hospitalKeys: HospitalKeyProvisioner;
  /**
   * The simulated hospitals' own site state (their intercepts, local files): the simulation-only
   * baselines score the federated model at each hospital as that hospital would.
   */
  hospitalSites?: HospitalSiteStore;
  models: ModelRegistry;
  /** Reads of the run; on the embedded stack also the in-process coordinator's steps. */
  lifecycle: RunLifecycle;
  jobs: JobRunner;
  /** The coordinator function's loopback URL when it is served over HTTP (emulator stack). */
  coordinatorUrl?: string;
  /** The project the connectors' resource names carry (default himas-local). */
  projectId?: string;
  close(): Promise<void>;
}

export interface TrainingWorkflowInput {
  runId: string;
  hospitals: string[];
  config: TrainingConfig;
  dataDir: string;
  /** Each hospital's declared (public) number of training stays. */
  declaredTrainStays: Record<string, number>;
  outputDirectory?: string;
  resume: boolean;
  /**
   * How long the last updates may take to arrive once every job has finished (the workflow's
   * deadlineGraceSeconds). Default 0: the embedded binding delivers before every poll.
   */
  deadlineGraceSeconds?: number;
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
  platform: TrainingPlatform,
  input: TrainingWorkflowInput,
): Promise<WorkflowOutcome> {
  const projectId = platform.projectId ?? LOCAL_PROJECT;
  const coordinatorUrl = platform.coordinatorUrl ?? LOCAL_COORDINATOR_URL;
  const connectors = stackConnectors({
    documents: platform.stack.documents,
    events: platform.stack.events,
    jobs: platform.jobs,
    coordinator: platform.coordinatorUrl ? undefined : new Coordinator(platform.lifecycle),
    coordinatorUrl,
    projectId,
  });
  // A served coordinator is reached by real HTTP on loopback, as Cloud Workflows calls its URL.
  const callables: Record<string, Callable> = platform.coordinatorUrl ? loopbackHttpCallables() : {};
  for (const [name, call] of Object.entries(connectors)) callables[name] = (args) => call(args);
  // As the operator of the simulated hospitals: enrol any that has no key yet; never re-enrol one
  // whose key file no longer matches (that stops here, saying to rotate).
  await enrolSimulatedHospitals(
    {
      documents: platform.stack.documents,
      clock: systemClock,
      operator: 'operator:local-cli',
      keys: platform.hospitalKeys,
    },
    input.hospitals,
  );
  return executeWorkflow(
    loadWorkflowFile(TRAINING_WORKFLOW),
    {
      runId: input.runId,
      hospitals: input.hospitals,
      config: input.config,
      resume: input.resume,
      outputDirectory: input.outputDirectory ?? null,
      declaredTrainStays: input.declaredTrainStays,
      // Embedded, the Firestore binding lets the bus deliver before every poll, so nothing is in
      // flight once the jobs have finished: the deadline can be declared at once.
      deadlineGraceSeconds: input.deadlineGraceSeconds ?? 0,
    },
    {
      callables,
      env: {
        GOOGLE_CLOUD_PROJECT_ID: projectId,
        GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: randomUUID(),
        HIMAS_REGION: 'local',
        HIMAS_COORDINATOR_URL: coordinatorUrl,
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
