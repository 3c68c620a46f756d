import { jobEnvVars, readJobEnv } from '../../../src/config/job-env';

describe('readJobEnv', () => {
  const base = { HIMAS_RUN_ID: 'run-1', HIMAS_HOSPITAL_ID: 'h1-academic' };

  it('reads a train job (the default mode) with Cloud Run variables', () => {
    expect(readJobEnv({ ...base, HIMAS_ROUND: '3', CLOUD_RUN_TASK_ATTEMPT: '2', PATH: '/bin' })).toEqual({
      mode: 'train',
      runId: 'run-1',
      hospitalId: 'h1-academic',
      round: 3,
      modelVersionId: undefined,
      taskAttempt: 2,
    });
  });

  it('reads stats and evaluate jobs', () => {
    expect(readJobEnv({ ...base, HIMAS_JOB_MODE: 'stats' })).toMatchObject({
      mode: 'stats',
      round: undefined,
      taskAttempt: 0,
    });
    expect(
      readJobEnv({ ...base, HIMAS_JOB_MODE: 'evaluate', HIMAS_MODEL_VERSION: 'run-1-r0002' }),
    ).toMatchObject({
      mode: 'evaluate',
      modelVersionId: 'run-1-r0002',
    });
  });

  it('round-trips through jobEnvVars', () => {
    const env = { mode: 'train' as const, runId: 'r.2', hospitalId: 'h_3', round: 4 };
    expect(readJobEnv(jobEnvVars(env))).toEqual({ ...env, modelVersionId: undefined, taskAttempt: 0 });
    expect(jobEnvVars({ mode: 'stats', runId: 'r', hospitalId: 'h' })).toEqual({
      HIMAS_JOB_MODE: 'stats',
      HIMAS_RUN_ID: 'r',
      HIMAS_HOSPITAL_ID: 'h',
    });
  });

  it('requires HIMAS_ROUND in train mode', () => {
    expect(() => readJobEnv(base)).toThrow('job environment: HIMAS_ROUND is required in train mode');
    expect(() => readJobEnv({ ...base, HIMAS_JOB_MODE: 'train' })).toThrow(/HIMAS_ROUND is required/);
  });

  it('reads reveal mode (a survivor revealing seeds), which needs HIMAS_ROUND too', () => {
    expect(() => readJobEnv({ ...base, HIMAS_JOB_MODE: 'reveal' })).toThrow(
      'job environment: HIMAS_ROUND is required in reveal mode',
    );
    expect(readJobEnv({ ...base, HIMAS_JOB_MODE: 'reveal', HIMAS_ROUND: '2' })).toMatchObject({
      mode: 'reveal',
      round: 2,
    });
    expect(jobEnvVars({ mode: 'reveal', runId: 'r', hospitalId: 'h', round: 2 })).toMatchObject({
      HIMAS_JOB_MODE: 'reveal',
      HIMAS_ROUND: '2',
    });
  });

  it('requires HIMAS_MODEL_VERSION in evaluate mode', () => {
    expect(() => readJobEnv({ ...base, HIMAS_JOB_MODE: 'evaluate' })).toThrow(
      'job environment: HIMAS_MODEL_VERSION is required in evaluate mode',
    );
  });

  it('rejects a bad run id, naming the variable and the value', () => {
    expect(() => readJobEnv({ ...base, HIMAS_RUN_ID: '../etc', HIMAS_ROUND: '1' })).toThrow(
      /^job environment: HIMAS_RUN_ID letters, digits, "\.", "_" or "-", starting with a letter or digit \(got "\.\.\/etc"\)$/,
    );
    expect(() => readJobEnv({ HIMAS_HOSPITAL_ID: 'h1', HIMAS_ROUND: '1' })).toThrow(
      /HIMAS_RUN_ID .*\(got undefined\)/,
    );
  });

  it('rejects a bad hospital id, round, mode or attempt', () => {
    expect(() => readJobEnv({ ...base, HIMAS_HOSPITAL_ID: 'h 1', HIMAS_ROUND: '1' })).toThrow(
      /HIMAS_HOSPITAL_ID .*\(got "h 1"\)/,
    );
    expect(() => readJobEnv({ ...base, HIMAS_ROUND: '0' })).toThrow(/HIMAS_ROUND .*\(got "0"\)/);
    expect(() => readJobEnv({ ...base, HIMAS_ROUND: 'two' })).toThrow(/HIMAS_ROUND .*\(got "two"\)/);
    expect(() => readJobEnv({ ...base, HIMAS_ROUND: '1.5' })).toThrow(/HIMAS_ROUND .*\(got "1.5"\)/);
    expect(() => readJobEnv({ ...base, HIMAS_JOB_MODE: 'predict' })).toThrow(
      /HIMAS_JOB_MODE .*\(got "predict"\)/,
    );
    expect(() => readJobEnv({ ...base, HIMAS_ROUND: '1', CLOUD_RUN_TASK_ATTEMPT: '-1' })).toThrow(
      /CLOUD_RUN_TASK_ATTEMPT .*\(got "-1"\)/,
    );
  });
});
