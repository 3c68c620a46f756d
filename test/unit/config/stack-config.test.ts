import { readStackConfig, STACK_ENV_VARS, stackEnvVars } from '../../../src/config/stack-config';

describe('readStackConfig', () => {
  const emulators = {
    HIMAS_STACK: 'emulators',
    PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
    FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
    HIMAS_BLOB_DIR: '/tmp/blobs',
  };

  it('defaults to the local IPC stack of the embedded job runner', () => {
    expect(readStackConfig({})).toEqual({ stack: 'local-ipc', dataDir: undefined });
  });

  it('reads the emulator stack, defaulting the project to himas-local', () => {
    expect(readStackConfig({ ...emulators, HIMAS_DATA_DIR: '/data' })).toEqual({
      stack: 'emulators',
      projectId: 'himas-local',
      pubsubEmulatorHost: '127.0.0.1:8085',
      firestoreEmulatorHost: '127.0.0.1:8086',
      blobDir: '/tmp/blobs',
      dataDir: '/data',
    });
  });

  it('reads the gcp stack from the names Terraform sets', () => {
    expect(
      readStackConfig({
        HIMAS_STACK: 'gcp',
        HIMAS_PROJECT: 'p1',
        HIMAS_REGION: 'europe-west1',
        HIMAS_BUCKET: 'b1',
      }),
    ).toEqual({ stack: 'gcp', projectId: 'p1', region: 'europe-west1', bucket: 'b1', dataDir: undefined });
  });

  it.each([
    [{ HIMAS_STACK: 'aws' }, /HIMAS_STACK/],
    [{ HIMAS_STACK: 'gcp', HIMAS_BUCKET: 'b' }, /HIMAS_PROJECT is not set/],
    [{ HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p' }, /HIMAS_BUCKET is not set/],
    [
      { HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p', HIMAS_BUCKET: 'b', PUBSUB_EMULATOR_HOST: 'h:1' },
      /unset them/,
    ],
    [{ ...emulators, PUBSUB_EMULATOR_HOST: undefined }, /PUBSUB_EMULATOR_HOST is not set/],
    [{ ...emulators, FIRESTORE_EMULATOR_HOST: 'localhost' }, /FIRESTORE_EMULATOR_HOST must be host:port/],
    [{ ...emulators, HIMAS_BLOB_DIR: ' ' }, /HIMAS_BLOB_DIR is not set/],
  ])('names the variable that is wrong: %j', (env, message) => {
    expect(() => readStackConfig(env)).toThrow(message);
  });

  it('round-trips through the variables a stack process is started with', () => {
    const config = readStackConfig({ ...emulators, HIMAS_DATA_DIR: '/data' });
    if (config.stack === 'local-ipc') throw new Error('unreachable');
    const vars = stackEnvVars(config);
    expect(Object.keys(vars).every((name) => (STACK_ENV_VARS as readonly string[]).includes(name))).toBe(
      true,
    );
    expect(readStackConfig(vars)).toEqual(config);
  });
});
