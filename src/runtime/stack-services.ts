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
import { initializeBackend } from '../core/model';
import { jsonLogger } from '../logging/logger';
import { systemClock } from '../ports/clock';
import { Aggregator } from '../services/aggregator';
import { ClinicalSupportAgent } from '../services/clinical-support-agent';
import { Coordinator } from '../services/coordinator';
import { OrchestratorAgent } from '../services/orchestrator-agent';
import { PrivacyGuardianAgent } from '../services/privacy-guardian-agent';
import { RunLifecycle } from '../services/run-lifecycle';
import { SurveillanceAgent } from '../services/surveillance-agent';
import { TreatmentAgent } from '../services/treatment-agent';
import { CryptoRandom } from './crypto-random';

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
 * BigQuery, Vertex AI and Gemini have no emulator: the agents' warehouse exists on the gcp stack
 * only (the embedded and emulator platforms give the agents an embedded warehouse themselves).
 */
let services: CloudServices | undefined;
function cloudServices(env: NodeJS.ProcessEnv): CloudServices {
  if (!services) {
    const config = readStackConfig(env);
    if (config.stack !== 'gcp')
      throw new StackConfigError(
        `the agents' warehouse is BigQuery, available with HIMAS_STACK=gcp only (this is ${config.stack}); locally the platform serves the agents an embedded warehouse`,
      );
    services = openCloudServices(config);
  }
  return services;
}

export async function privacyGuardianFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<PrivacyGuardianAgent> {
  const warehouse = cloudServices(env).warehouse; // first: refuses a stack without BigQuery
  return new PrivacyGuardianAgent({
    ...stackPorts(env),
    warehouse,
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'privacy-guardian'),
  });
}

export async function orchestratorFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<OrchestratorAgent> {
  const warehouse = cloudServices(env).warehouse; // first: refuses a stack without BigQuery
  return new OrchestratorAgent({
    ...stackPorts(env),
    warehouse,
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'orchestrator'),
  });
}

export async function surveillanceFromStack(
  env: NodeJS.ProcessEnv = process.env,
): Promise<SurveillanceAgent> {
  const warehouse = cloudServices(env).warehouse; // first: refuses a stack without BigQuery
  const { documents, events } = stackPorts(env);
  return new SurveillanceAgent({
    documents,
    events,
    warehouse,
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'disease-surveillance'),
  });
}

export async function treatmentFromStack(env: NodeJS.ProcessEnv = process.env): Promise<TreatmentAgent> {
  const warehouse = cloudServices(env).warehouse; // first: refuses a stack without BigQuery
  const { documents, events } = stackPorts(env);
  return new TreatmentAgent({
    documents,
    events,
    warehouse,
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'treatment-optimization'),
  });
}

export async function aggregatorFromStack(env: NodeJS.ProcessEnv = process.env): Promise<Aggregator> {
  return new Aggregator({
    ...stackPorts(env),
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'aggregate'),
    random: new CryptoRandom(),
    // Cloud Functions names the instance in K_REVISION; the uuid tells instances of one revision apart.
    instanceId: `aggregator-${env.K_REVISION ?? 'local'}-${randomUUID().slice(0, 8)}`,
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
