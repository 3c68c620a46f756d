import * as path from 'node:path';
import { FileHospitalKeyStore } from '../../src/adapters/keys/file-hospital-key-store';
import { BlobHospitalLedgerStore } from '../../src/adapters/ledger/blob-hospital-ledger-store';
import { localHospitalLedger, localHospitalSiteStore } from '../../src/adapters/ledger/local-hospital-ledger';
import { BlobHospitalSiteStore } from '../../src/adapters/site/blob-hospital-site-store';
import { readOnlyDocuments } from '../../src/adapters/read-only-documents';
import { readJobEnv } from '../../src/config/job-env';
import {
  openCohortSource,
  openStackPorts,
  readStackConfig,
  type StackConfig,
} from '../../src/config/stack-config';
import type { HospitalLedgerStore } from '../../src/ports/hospital-ledger-store';
import type { HospitalSiteStore } from '../../src/ports/hospital-site-store';
import { initializeBackend } from '../../src/core/model';
import { connectPortsOverIpc, disconnectIpc } from '../../src/local/ipc/ipc-ports';
import { jsonLogger } from '../../src/logging/logger';
import { logs } from '../../src/logs';
import { systemClock } from '../../src/ports/clock';
import { runHospitalJob } from '../../src/services/hospital-job';

/**
 * The hospital job process: read Cloud Run's environment, pick the TensorFlow.js backend, connect
 * the stack's ports, run one job. Logs are JSON lines with `severity` on stderr (Cloud Logging).
 */
export async function runTrainJobProcess(env: NodeJS.ProcessEnv): Promise<number> {
  const logger = jsonLogger(process.stderr, `job:${env.CLOUD_RUN_JOB ?? 'himas-train'}`);
  try {
    const jobEnv = readJobEnv(env);
    const backend = await initializeBackend((env.HIMAS_TF_BACKEND as 'auto') ?? 'auto');
    logs.backendSelected(
      logger,
      backend.backend,
      backend.tried.map((t) => `${t.backend}${t.error ? ' (failed)' : ''}`).join(', '),
    );
    const stack = readStackConfig(env);
    const opened = stack.stack === 'local-ipc' ? undefined : openStackPorts(stack);
    const ports = opened ?? connectPortsOverIpc();
    let outcome;
    try {
      outcome = await runHospitalJob(jobEnv, {
        // Shared state read only; models read only (what the IPC parent serves is the same).
        documents: readOnlyDocuments(ports.documents),
        blobs: ports.blobs,
        events: ports.events,
        models: { get: (id) => ports.models.get(id), load: (id) => ports.models.load(id) },
        // CSV files in HIMAS_DATA_DIR, else (gcp) the hospital's BigQuery table.
        cohorts: openCohortSource(stack),
        // The hospital's own secret store: next to its data unless the runner says otherwise.
        keys: new FileHospitalKeyStore(
          env.HIMAS_KEYS_DIR ?? path.join(localStateDir(stack, 'HIMAS_KEYS_DIR'), 'keys'),
        ),
        // Its one privacy ledger and its site state, in storage only the hospital writes.
        ...openHospitalStorage(env, stack),
        clock: systemClock,
        logger,
      });
    } finally {
      await opened?.close();
    }
    logger.write({
      severity: 'INFO',
      event: 'job.finished',
      message: `${jobEnv.hospitalId}: ${outcome.status}: ${outcome.detail}`,
      ...outcome,
    });
    return 0;
  } catch (error) {
    logger.write({
      severity: 'ERROR',
      event: 'job.failed',
      message: (error as Error).message,
      stack: (error as Error).stack,
    });
    return 1;
  } finally {
    disconnectIpc();
  }
}

/**
 * Where the hospital keeps its privacy ledger and its site state (intercepts): its own bucket in the cloud (HIMAS_LEDGER_BUCKET; the
 * cohort volume is read-only and a FUSE rename is not atomic), else its local state folder
 * (HIMAS_HOSPITAL_STATE_DIR, set by the local job runner). One ledger per hospital, whatever data
 * files it reads.
 */
function openHospitalStorage(
  env: NodeJS.ProcessEnv,
  stack: StackConfig,
): { ledger: HospitalLedgerStore; site: HospitalSiteStore } {
  const bucket = env.HIMAS_LEDGER_BUCKET?.trim();
  if (bucket) {
    const projectId = stack.stack === 'local-ipc' ? undefined : stack.projectId;
    if (!projectId)
      throw new Error('HIMAS_LEDGER_BUCKET needs the project of a gcp or emulators stack (HIMAS_PROJECT)');
    // Required here, not imported at the top: the Google Cloud clients take about 2 s to load,
    // which every local job (its ledger in a folder) would pay at each start and each retry.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { createStorage, GcsBlobStore } =
      require('../../src/adapters/gcp') as typeof import('../../src/adapters/gcp');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const own = new GcsBlobStore(createStorage(projectId), bucket);
    return {
      ledger: new BlobHospitalLedgerStore(own, `gs://${bucket}`, 'ledgers'),
      site: new BlobHospitalSiteStore(own, `gs://${bucket}`),
    };
  }
  const stateDir = env.HIMAS_HOSPITAL_STATE_DIR?.trim();
  if (stateDir) return { ledger: localHospitalLedger(stateDir), site: localHospitalSiteStore(stateDir) };
  throw new Error(
    "no place for the hospital's privacy ledger: set HIMAS_LEDGER_BUCKET (its own bucket, in the cloud) or HIMAS_HOSPITAL_STATE_DIR (its own state folder, locally)",
  );
}

/** The local cohort folder, where the hospital's keys live by default; `instead` says what to set. */
function localStateDir(stack: StackConfig, instead: string): string {
  if (stack.dataDir) return stack.dataDir;
  throw new Error(
    `HIMAS_DATA_DIR is not set, so there is no local folder for the hospital's own state: set ${instead} (or HIMAS_DATA_DIR, the folder with <hospital>.train.csv and .test.csv)`,
  );
}
