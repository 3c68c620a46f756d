/** A fresh copy of the module per test: it keeps the stack's clients for the life of the process. */
function freshStackServices(): typeof import('../../../src/runtime/stack-services') {
  let loaded: typeof import('../../../src/runtime/stack-services') | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules needs a synchronous load
    loaded = require('../../../src/runtime/stack-services');
  });
  return loaded!;
}

describe('agents from the stack', () => {
  const emulators = {
    HIMAS_STACK: 'emulators',
    PUBSUB_EMULATOR_HOST: '127.0.0.1:1',
    FIRESTORE_EMULATOR_HOST: '127.0.0.1:2',
    HIMAS_BLOB_DIR: '/tmp/none',
  };

  it('on the emulator stack, keep their warehouse in the stack’s documents (Firestore), not BigQuery', async () => {
    const { privacyGuardianFromStack, orchestratorFromStack, surveillanceFromStack, treatmentFromStack } =
      freshStackServices();
    for (const make of [
      privacyGuardianFromStack,
      orchestratorFromStack,
      surveillanceFromStack,
      treatmentFromStack,
    ]) {
      const agent = (await make(emulators)) as unknown as { deps: { warehouse: object } };
      // Compared by name: the isolated module registry has its own copy of the class.
      expect(agent.deps.warehouse.constructor.name).toBe('DocumentWarehouse');
    }
  });

  it('refuse HIMAS_STACK=local-ipc, which has no store of its own, naming the stack', async () => {
    const { privacyGuardianFromStack } = freshStackServices();
    const made = privacyGuardianFromStack({ HIMAS_STACK: 'local-ipc' });
    await expect(made).rejects.toMatchObject({
      name: 'StackConfigError',
      message: expect.stringMatching(/HIMAS_STACK=local-ipc has no ports of its own/),
    });
  });

  it('refuse an incomplete gcp environment with the variable to set', async () => {
    const { privacyGuardianFromStack } = freshStackServices();
    await expect(privacyGuardianFromStack({ HIMAS_STACK: 'gcp', HIMAS_PROJECT: 'p' })).rejects.toThrow(
      /HIMAS_BUCKET is not set/,
    );
  });
});
