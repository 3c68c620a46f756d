import { StackConfigError } from '../../../src/config/stack-config';
import { orchestratorFromStack, privacyGuardianFromStack } from '../../../src/runtime/stack-services';

describe('agents from the stack', () => {
  const emulators = {
    HIMAS_STACK: 'emulators',
    PUBSUB_EMULATOR_HOST: '127.0.0.1:1',
    FIRESTORE_EMULATOR_HOST: '127.0.0.1:2',
    HIMAS_BLOB_DIR: '/tmp/none',
  };

  it('refuse a stack without BigQuery before opening anything, naming the stack', async () => {
    for (const make of [privacyGuardianFromStack, orchestratorFromStack]) {
      const made = make(emulators);
      await expect(made).rejects.toThrow(StackConfigError);
      await expect(made).rejects.toThrow(
        /BigQuery, available with HIMAS_STACK=gcp only \(this is emulators\)/,
      );
    }
  });

  it('refuse an incomplete gcp environment with the variable to set', async () => {
    await expect(privacyGuardianFromStack({ HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p' })).rejects.toThrow(
      /HIMAS_BUCKET is not set/,
    );
  });
});
