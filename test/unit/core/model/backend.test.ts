import * as tf from '@tensorflow/tfjs';
import { initializeBackend } from '../../../../src/core/model';

// tfjs-node-gpu is an optionalDependency that is not installed on development machines.
describe('initializeBackend without tfjs-node-gpu', () => {
  it("'auto' falls back to wasm and reports what it tried", async () => {
    const log = jest.fn();
    const selection = await initializeBackend('auto', log);
    expect(selection.backend).toBe('wasm');
    expect(selection.tried).toEqual([
      {
        backend: 'tensorflow',
        error: expect.stringMatching(/Cannot find module '@tensorflow\/tfjs-node-gpu'/),
      },
      { backend: 'wasm' },
    ]);
    expect(tf.getBackend()).toBe('wasm');
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toMatch(
      /^TensorFlow\.js backend: wasm \(passed over tensorflow: Cannot find module/,
    );
  });

  it('is idempotent: a second call returns the cached selection and logs nothing', async () => {
    const first = await initializeBackend();
    const log = jest.fn();
    expect(await initializeBackend('auto', log)).toBe(first);
    expect(await initializeBackend('wasm', log)).toBe(first);
    expect(log).not.toHaveBeenCalled();
  });

  it('serialises concurrent calls', async () => {
    const [a, b] = await Promise.all([initializeBackend(), initializeBackend()]);
    expect(a).toBe(b);
  });

  it('rejects an explicit preference that cannot be activated, naming the backend and why', async () => {
    await expect(initializeBackend('tensorflow')).rejects.toThrow(
      /backend 'tensorflow' could not be activated: Cannot find module '@tensorflow\/tfjs-node-gpu'/,
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('switches to an explicitly requested backend and back', async () => {
    const log = jest.fn();
    expect(await initializeBackend('cpu', log)).toEqual({ backend: 'cpu', tried: [{ backend: 'cpu' }] });
    expect(tf.getBackend()).toBe('cpu');
    expect(log).toHaveBeenCalledWith('TensorFlow.js backend: cpu');
    expect((await initializeBackend('wasm')).backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});
