import * as path from 'node:path';
import { CsvCohortSource } from '../../src/adapters/cohort/csv-cohort-source';
import { FileHospitalKeyStore } from '../../src/adapters/keys/file-hospital-key-store';
import {
  FilePatientLedgerStore,
  patientLedgerDir,
} from '../../src/adapters/ledger/file-patient-ledger-store';
import { readJobEnv } from '../../src/config/job-env';
import { openStackPorts, readStackConfig, type StackConfig } from '../../src/config/stack-config';
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
    const dataDir = cohortFolder(stack);
    const opened = stack.stack === 'local-ipc' ? undefined : openStackPorts(stack);
    const ports = opened ?? connectPortsOverIpc();
    let outcome;
    try {
      outcome = await runHospitalJob(jobEnv, {
        ...ports,
        cohorts: new CsvCohortSource(dataDir),
        // The hospital's own secret store: next to its data unless the runner says otherwise.
        keys: new FileHospitalKeyStore(env.HIMAS_KEYS_DIR ?? path.join(dataDir, 'keys')),
        // Its patient-level ledger lives with its cohort: the same patients, the same budget.
        ledger: new FilePatientLedgerStore(env.HIMAS_LEDGER_DIR ?? patientLedgerDir(dataDir)),
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

/** The hospital's cohort: CSV files locally; BigQuery (`himas_<hospital>.cohort`) is not wired yet. */
function cohortFolder(stack: StackConfig): string {
  if (stack.dataDir) return stack.dataDir;
  if (stack.stack === 'gcp') {
    throw new Error(
      'HIMAS_DATA_DIR is not set and the BigQuery cohort source (himas_<hospital>.cohort) is not implemented yet; mount the cohort CSVs and set HIMAS_DATA_DIR',
    );
  }
  throw new Error('HIMAS_DATA_DIR is not set: the folder with <hospital>.train.csv and .test.csv');
}
