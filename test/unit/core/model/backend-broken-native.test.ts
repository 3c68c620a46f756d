import * as tf from '@tensorflow/tfjs';
import { initializeBackend } from '../../../../src/core/model';

// A GPU image whose CUDA libraries do not match: the native addon throws as soon as it is required.
jest.mock(
  '@tensorflow/tfjs-node-gpu',
  () => {
    throw new Error('libcudnn.so.8: cannot open shared object file: No such file or directory');
  },
  { virtual: true },
);

describe('initializeBackend with a tfjs-node-gpu that throws on require', () => {
  it("'auto' never throws: it records the reason and falls back to wasm", async () => {
    const selection = await initializeBackend('auto');
    expect(selection).toEqual({
      backend: 'wasm',
      tried: [
        { backend: 'tensorflow', error: expect.stringMatching(/^libcudnn\.so\.8: cannot open/) },
        { backend: 'wasm' },
      ],
    });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an explicit tensorflow preference is an error that carries the load failure', async () => {
    await expect(initializeBackend('tensorflow')).rejects.toThrow(
      /'tensorflow' could not be activated: libcudnn/,
    );
  });
});
