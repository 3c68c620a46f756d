import type { BlobHospitalSiteStore } from '../adapters/site/blob-hospital-site-store';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { FileHospitalKeyStore } from '../adapters/keys/file-hospital-key-store';
import {
  hospitalStateDir,
  localHospitalLedger,
  localHospitalSiteStore,
} from '../adapters/ledger/local-hospital-ledger';
import { deadLetterHoldSubscription, deadLetterTopic, TOPICS } from '../../schemas/events';
import { aggregateHandler } from '../../functions/aggregate';
import { orchestratorHandler } from '../../functions/agents/orchestrator';
import { privacyGuardianHandler } from '../../functions/agents/privacy-guardian';
import { clinicalDecisionSupportReload } from '../../functions/agents/clinical-decision-support';
import { diseaseSurveillanceHandler } from '../../functions/agents/disease-surveillance';
import { treatmentOptimizationHandler } from '../../functions/agents/treatment-optimization';
import { DocumentModelRegistry } from '../adapters/model-registry/document-model-registry';
import { openEmbeddedStack, type EmbeddedStack } from '../adapters/embedded';
import { CsvCohortSource } from '../adapters/cohort/csv-cohort-source';
import type { Logger } from '../logging/logger';
import { systemClock, type Clock } from '../ports/clock';
import type { JobRunner } from '../ports/job-runner';
import { Aggregator } from '../services/aggregator';
import { OrchestratorAgent } from '../services/orchestrator-agent';
import { PrivacyGuardianAgent } from '../services/privacy-guardian-agent';
import { ClinicalSupportAgent } from '../services/clinical-support-agent';
import { SurveillanceAgent } from '../services/surveillance-agent';
import { TreatmentAgent } from '../services/treatment-agent';
import { messagePublishedFromDelivery, type MessagePublishedData } from '../services/pubsub-message';
import { RunLifecycle } from '../services/run-lifecycle';
import { CryptoRandom } from '../runtime/crypto-random';
import { localProcessLiveness } from '../runtime/local-process-liveness';
import { ChildProcessJobRunner } from './jobs/child-process-job-runner';
import { InProcessJobRunner } from './jobs/in-process-job-runner';

/** Subscriptions the aggregation function has (the same names Terraform creates). */
export const AGGREGATOR_SUBSCRIPTIONS = [
  { name: 'himas-aggregate-updates', topic: TOPICS.updates },
  { name: 'himas-aggregate-rounds', topic: TOPICS.rounds },
] as const;

/**
 * Subscriptions of the agent functions (the same names Terraform must create): on himas-models for
 * the agents that react to a new version, on himas-updates for the hospitals' aggregate releases.
 */
export const AGENT_SUBSCRIPTIONS = [
  { name: 'himas-agent-privacy-guardian', topic: TOPICS.models, entryPoint: 'privacyGuardian' },
  { name: 'himas-agent-orchestrator', topic: TOPICS.models, entryPoint: 'orchestrator' },
  {
    name: 'himas-agent-clinical-decision-support',
    topic: TOPICS.models,
    entryPoint: 'clinicalDecisionSupport',
  },
  { name: 'himas-agent-disease-surveillance', topic: TOPICS.updates, entryPoint: 'diseaseSurveillance' },
  { name: 'himas-agent-treatment-optimization', topic: TOPICS.updates, entryPoint: 'treatmentOptimization' },
] as const;

export interface EmbeddedPlatform {
  stack: EmbeddedStack;
  models: DocumentModelRegistry;
  lifecycle: RunLifecycle;
  aggregator: Aggregator;
  /** The agents that react to model.published (subscribed only when withAgents is on). */
  agents: {
    privacyGuardian: PrivacyGuardianAgent;
    orchestrator: OrchestratorAgent;
    clinicalDecisionSupport: ClinicalSupportAgent;
    diseaseSurveillance: SurveillanceAgent;
    treatmentOptimization: TreatmentAgent;
  };
  jobs: JobRunner;
  /** The simulated hospitals' key files (the CLI provisions and enrols them as the local operator). */
  hospitalKeys: FileHospitalKeyStore;
  /** The simulated hospitals' own site state (intercepts), beside their ledgers. */
  hospitalSites: BlobHospitalSiteStore;
  clock: Clock;
  close(): Promise<void>;
}

export interface EmbeddedPlatformOptions {
  /** The store folder (default .himas). */
  home: string;
  /** The hospitals' CSV folder, handed to each job as HIMAS_DATA_DIR. */
  dataDir: string;
  logger: Logger;
  /** 'process' (default): one process per job, like Cloud Run; 'in-process': function calls (tests). */
  jobs?: 'process' | 'in-process';
  /** Whether to attach the aggregation function to the bus (off for read-only commands). */
  withAggregator?: boolean;
  /** Whether to attach the agent functions to himas-models (default: as withAggregator). */
  withAgents?: boolean;
}

/**
 * The whole system on embedded adapters: DuckDB documents and event bus, files for blobs, the real
 * aggregation function fed by the bus as Eventarc would feed it, and hospital jobs as processes.
 */
export async function openEmbeddedPlatform(options: EmbeddedPlatformOptions): Promise<EmbeddedPlatform> {
  const stack = await openEmbeddedStack(options.home);
  const clock = systemClock;
  const models = new DocumentModelRegistry(stack.documents, stack.blobs);
  const ports = { documents: stack.documents, blobs: stack.blobs, events: stack.events, models };
  const aggregator = new Aggregator({
    ...ports,
    clock,
    logger: options.logger,
    random: new CryptoRandom(),
    instanceId: `aggregator-${randomUUID().slice(0, 8)}`,
    // Every aggregator of this store is a process on this machine: a killed one is taken over at once.
    leaseHolders: localProcessLiveness(),
  });
  const lifecycle = new RunLifecycle({ ...ports, clock, logger: options.logger });
  const agentDeps = { ...ports, warehouse: stack.warehouse, clock, logger: options.logger };
  const agents = {
    privacyGuardian: new PrivacyGuardianAgent(agentDeps),
    orchestrator: new OrchestratorAgent(agentDeps),
    clinicalDecisionSupport: new ClinicalSupportAgent(agentDeps),
    diseaseSurveillance: new SurveillanceAgent(agentDeps),
    treatmentOptimization: new TreatmentAgent(agentDeps),
  };
  const hospitalKeys = new FileHospitalKeyStore(path.join(options.home, 'keys'));
  const hospitalSites = localHospitalSiteStore(hospitalStateDir(options.home));
  const jobs: JobRunner =
    options.jobs === 'in-process'
      ? new InProcessJobRunner({
          ...ports,
          cohorts: new CsvCohortSource(options.dataDir),
          keys: hospitalKeys,
          ledger: localHospitalLedger(hospitalStateDir(options.home)),
          site: hospitalSites,
          clock,
          logger: options.logger,
        })
      : new ChildProcessJobRunner(ports, {
          logger: options.logger,
          extraEnv: {
            HIMAS_DATA_DIR: options.dataDir,
            HIMAS_KEYS_DIR: path.join(options.home, 'keys'),
            HIMAS_HOSPITAL_STATE_DIR: hospitalStateDir(options.home),
          },
        });

  /** Feeds a function from a subscription, wrapping each delivery as Eventarc wraps a Pub/Sub message. */
  const attach = async (
    subscription: { name: string; topic: string },
    handler: (event: { data: MessagePublishedData }) => Promise<void>,
  ) => {
    // Its dead letters are kept for `himas deadletter` (Terraform's dead_letter_hold), never dropped.
    await stack.events.createSubscription({
      name: deadLetterHoldSubscription(subscription.topic),
      topic: deadLetterTopic(subscription.topic),
    });
    await stack.events.subscribe(
      {
        name: subscription.name,
        topic: subscription.topic,
        maxDeliveryAttempts: 10,
        deadLetterTopic: deadLetterTopic(subscription.topic),
      },
      (delivery) => handler({ data: messagePublishedFromDelivery(delivery, subscription.name) }),
    );
  };
  if (options.withAggregator !== false) {
    const handler = aggregateHandler(async () => aggregator);
    for (const subscription of AGGREGATOR_SUBSCRIPTIONS) await attach(subscription, handler);
  }
  if (options.withAgents ?? options.withAggregator !== false) {
    const handlers = {
      privacyGuardian: privacyGuardianHandler(async () => agents.privacyGuardian),
      orchestrator: orchestratorHandler(async () => agents.orchestrator),
      clinicalDecisionSupport: clinicalDecisionSupportReload(async () => agents.clinicalDecisionSupport),
      diseaseSurveillance: diseaseSurveillanceHandler(async () => agents.diseaseSurveillance),
      treatmentOptimization: treatmentOptimizationHandler(async () => agents.treatmentOptimization),
    };
    for (const subscription of AGENT_SUBSCRIPTIONS)
      await attach(subscription, handlers[subscription.entryPoint]);
  }
  return {
    stack,
    models,
    lifecycle,
    aggregator,
    agents,
    jobs,
    hospitalKeys,
    hospitalSites,
    clock,
    close: () => stack.close(),
  };
}
