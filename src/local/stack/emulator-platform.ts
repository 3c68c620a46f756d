import { localHospitalSiteStore } from '../../adapters/ledger/local-hospital-ledger';
import * as path from 'node:path';
import { FileHospitalKeyStore } from '../../adapters/keys/file-hospital-key-store';
import { openStackPorts, stackEnvVars } from '../../config/stack-config';
import type { Logger } from '../../logging/logger';
import { systemClock } from '../../ports/clock';
import { RunLifecycle } from '../../services/run-lifecycle';
import { ChildProcessJobRunner } from '../jobs/child-process-job-runner';
import type { TrainingPlatform } from '../workflow-training';
import { stackConfigOf, type StackState } from './stack-control';

/**
 * The emulator stack as the CLI drives it: the Google Cloud adapters on the emulators (reads,
 * the report, the workflow's Pub/Sub and Firestore connectors), the coordinator function over
 * loopback HTTP, and each hospital job as its own process with Cloud Run's environment and
 * HIMAS_STACK=emulators, opening the stack itself (no IPC). The aggregator is not here: it runs
 * in its functions-framework server, fed by push subscriptions.
 */
export function openEmulatorPlatform(options: {
  state: StackState;
  dataDir: string;
  logger: Logger;
}): TrainingPlatform {
  const config = stackConfigOf(options.state, options.dataDir);
  const ports = openStackPorts(config);
  // The hospitals' own ledgers and site state sit beside their keys in the stack's folder.
  const hospitalState = path.join(path.dirname(options.state.keysDir), 'hospital-state');
  return {
    stack: { documents: ports.documents, events: ports.events },
    models: ports.models,
    hospitalKeys: new FileHospitalKeyStore(options.state.keysDir),
    hospitalSites: localHospitalSiteStore(hospitalState),
    // Only reads go through it here (getRun); the coordinator function runs the steps.
    lifecycle: new RunLifecycle({ ...ports, clock: systemClock, logger: options.logger }),
    jobs: new ChildProcessJobRunner(undefined, {
      logger: options.logger,
      stackEnv: stackEnvVars(config),
      extraEnv: {
        HIMAS_KEYS_DIR: options.state.keysDir,
        HIMAS_HOSPITAL_STATE_DIR: hospitalState,
      },
    }),
    coordinatorUrl: options.state.coordinatorUrl,
    projectId: options.state.projectId,
    close: () => ports.close(),
  };
}
