import { InProcessJobRunner } from '../../../src/local/jobs/in-process-job-runner';
import { silentLogger } from '../../../src/logging/logger';
import { systemClock } from '../../../src/ports/clock';
import type { HospitalJobDeps } from '../../../src/services/hospital-job';

/** Ports whose document store fails `failures` times, then reports that no run exists. */
function deps(failures: number): HospitalJobDeps & { reads: number } {
  const state = { reads: 0 };
  const unused = () => Promise.reject(new Error('not used'));
  return {
    get reads() {
      return state.reads;
    },
    documents: {
      get: async <T>() => {
        state.reads++;
        if (state.reads <= failures) throw new Error(`transient failure ${state.reads}`);
        return { not: 'a run document' } as T;
      },
      list: unused,
    },
    blobs: { put: unused, create: unused, get: unused, stat: unused, list: unused, delete: unused },
    events: { publish: unused },
    models: { get: unused, load: unused },
    cohorts: { read: unused, describe: () => ({ kind: 'csv', location: '-' }) },
    keys: { signingKey: unused, maskingKey: unused },
    ledger: { read: unused, append: unused, hospitals: unused, describe: () => '-' },
    clock: systemClock,
    logger: silentLogger,
  };
}

describe('InProcessJobRunner', () => {
  it('retries up to maxAttempts and reports the last error', async () => {
    const d = deps(10);
    const result = await new InProcessJobRunner(d).run({
      jobName: 'himas-train-h1',
      env: { HIMAS_JOB_MODE: 'stats', HIMAS_RUN_ID: 'r', HIMAS_HOSPITAL_ID: 'h1' },
      maxAttempts: 3,
    });
    expect(result).toMatchObject({
      jobName: 'himas-train-h1',
      status: 'failed',
      attempts: 3,
      error: 'transient failure 3',
    });
    expect(d.reads).toBe(3);
  });

  it('fails a job with a bad environment without touching the ports', async () => {
    const d = deps(0);
    const result = await new InProcessJobRunner(d).run({
      jobName: 'himas-train-h1',
      env: { HIMAS_RUN_ID: 'r', HIMAS_HOSPITAL_ID: 'h1' },
    });
    expect(result).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'job environment: HIMAS_ROUND is required in train mode',
    });
    expect(d.reads).toBe(0);
  });

  it('retries every kind of failure, and reports the last error, not the first', async () => {
    const d = deps(1);
    const result = await new InProcessJobRunner(d).run({
      jobName: 'himas-train-h1',
      env: { HIMAS_JOB_MODE: 'stats', HIMAS_RUN_ID: 'r', HIMAS_HOSPITAL_ID: 'h1' },
      maxAttempts: 5,
    });
    // Later attempts read a document that is not a run: a different error, retried until attempts run out.
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(5);
    expect(d.reads).toBe(5);
    expect(result.error).not.toMatch(/transient/);
  });
});
