import * as path from 'node:path';
import { CsvCohortSource } from '../../src/adapters/cohort/csv-cohort-source';
import { FileHospitalKeyStore } from '../../src/adapters/keys/file-hospital-key-store';
import { readJobEnv } from '../../src/config/job-env';
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
    const stack = env.HIMAS_STACK ?? 'local-ipc';
    if (stack !== 'local-ipc') {
      throw new Error(
        `HIMAS_STACK=${stack} is not available to jobs yet; the Google Cloud adapters arrive with the emulator/GCP work (issue 5)`,
      );
    }
    if (!env.HIMAS_DATA_DIR)
      throw new Error('HIMAS_DATA_DIR is not set: the folder with <hospital>.train.csv and .test.csv');
    const ports = connectPortsOverIpc();
    const outcome = await runHospitalJob(jobEnv, {
      ...ports,
      cohorts: new CsvCohortSource(env.HIMAS_DATA_DIR),
      // The hospital's own secret store: next to its data unless the runner says otherwise.
      keys: new FileHospitalKeyStore(env.HIMAS_KEYS_DIR ?? path.join(env.HIMAS_DATA_DIR, 'keys')),
      clock: systemClock,
      logger,
    });
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
