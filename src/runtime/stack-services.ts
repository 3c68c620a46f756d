import { randomUUID } from 'node:crypto';
import {
  clinicalLanguageModelRecordValues,
  openCloudServices,
  openStackPorts,
  readStackConfig,
  StackConfigError,
  type CloudServices,
  type StackPorts,
} from '../config/stack-config';
import { DocumentWarehouse } from '../adapters/document-warehouse/document-warehouse';
import { initializeBackend } from '../core/model';
import { jsonLogger } from '../logging/logger';
import { systemClock } from '../ports/clock';
import type { Warehouse } from '../ports/warehouse';
import { Aggregator } from '../services/aggregator';
import { ClinicalSupportAgent } from '../services/clinical-support-agent';
import { Coordinator } from '../services/coordinator';
import { OrchestratorAgent } from '../services/orchestrator-agent';
import { PrivacyGuardianAgent } from '../services/privacy-guardian-agent';
import { RunLifecycle } from '../services/run-lifecycle';
import { SurveillanceAgent } from '../services/surveillance-agent';
import { TreatmentAgent } from '../services/treatment-agent';
import { CryptoRandom } from './crypto-random';
import { localProcessLiveness } from './local-process-liveness';

/**
 * The services the deployed functions run, over the ports of the stack their environment names
 * (HIMAS_STACK=gcp in the cloud, emulators under `himas stack up`). Built once per function
 * instance: the entry points keep the promise, so a cold start opens the clients once.
 */
let ports: StackPorts | undefined;
function stackPorts(env: NodeJS.ProcessEnv): StackPorts {
  ports ??= openStackPorts(readStackConfig(env));
  return ports;
}

/**
 * BigQuery, Vertex AI and Gemini have no emulator, so they open on the gcp stack only.
 */
let services: CloudServices | undefined;
function cloudServices(env: NodeJS.ProcessEnv): CloudServices {
  if (!services) {
    const config = readStackConfig(env);
    if (config.stack !== 'gcp')
      throw new StackConfigError(
        `BigQuery, Vertex AI and Gemini are available with HIMAS_STACK=gcp only (this is ${config.stack})`,
      );
    services = openCloudServices(config);
  }
  return services;
}

/**
 * The agents' warehouse: BigQuery on gcp; on the emulator stack, rows in the Firestore emulator
 * (DocumentWarehouse), the one store every function process of that stack shares. HIMAS_STACK=
 * local-ipc has no ports of its own: the embedded platform hands its agents the DuckDB warehouse.
 */
let warehouse: Warehouse | undefined;
function agentWarehouse(env: NodeJS.ProcessEnv): Warehouse {
  if (!warehouse) {
    const config = readStackConfig(env);
    warehouse =
      config.stack === 'gcp'
        ? cloudServices(env).warehouse
        : new DocumentWarehouse(stackPorts(env).documents);
  }
  return warehouse;
}

/** What every agent is built from: the stack's ports, the agents' warehouse, a clock and its logger. */
function agentDeps(env: NodeJS.ProcessEnv, logName: string) {
  const warehouse = agentWarehouse(env); // first: refuses a stack without one
  return { ...stackPorts(env), warehouse, clock: systemClock, logger: jsonLogger(process.stdout, logName) };
}

export async function privacyGuardianFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<PrivacyGuardianAgent> {
  return new PrivacyGuardianAgent(agentDeps(env, 'privacy-guardian'));
}

export async function orchestratorFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<OrchestratorAgent> {
  return new OrchestratorAgent(agentDeps(env, 'orchestrator'));
}

export async function surveillanceFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<SurveillanceAgent> {
  return new SurveillanceAgent(agentDeps(env, 'disease-surveillance'));
}

export async function treatmentFromStack(env: NodeJS.ProcessEnv = process.env): Promise<TreatmentAgent> {
  return new TreatmentAgent(agentDeps(env, 'treatment-optimization'));
}

export async function aggregatorFromStack(env: NodeJS.ProcessEnv = process.env): Promise<Aggregator> {
  return new Aggregator({
    ...stackPorts(env),
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'aggregate'),
    random: new CryptoRandom(),
    // Cloud Functions names the instance in K_REVISION; the uuid tells instances of one revision apart.
    instanceId: `aggregator-${env.K_REVISION ?? 'local'}-${randomUUID().slice(0, 8)}`,
    // The emulator stack's function servers are processes on this machine, so a killed one's lease
    // is taken over at once; in the cloud instances share no machine and the lease's expiry decides.
    leaseHolders: readStackConfig(env).stack === 'emulators' ? localProcessLiveness() : undefined,
  });
}

export async function coordinatorFromStack(env: NodeJS.ProcessEnv = process.env): Promise<Coordinator> {
  // The coordinator builds the initial model with TensorFlow.js.
  await initializeBackend((env.HIMAS_TF_BACKEND as 'auto') ?? 'auto');
  const lifecycle = new RunLifecycle({
    ...stackPorts(env),
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'coordinator'),
  });
  return new Coordinator(lifecycle);
}

/**
 * Clinical decision support over the stack's documents and model registry; it scores with
 * TensorFlow.js. The narrative is the template unless the gcp stack configures Gemini
 * (HIMAS_GEMINI_MODEL); a stay's values reach it only with HIMAS_CLINICAL_LLM_RECORD_VALUES=true.
 */
export async function clinicalSupportFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ClinicalSupportAgent> {
  await initializeBackend((env.HIMAS_TF_BACKEND as 'auto') ?? 'auto');
  const { documents, models } = stackPorts(env);
  const languageModel = readStackConfig(env).stack === 'gcp' ? cloudServices(env).languageModel : undefined;
  return new ClinicalSupportAgent({
    documents,
    models,
    logger: jsonLogger(process.stdout, 'clinical-decision-support'),
    languageModel,
    languageModelRecordValues: clinicalLanguageModelRecordValues(env),
  });
}
