import { initializeBackend } from '../../../../src/core/model';

// The addon loads and registers 'tensorflow', but creating the backend fails (no GPU driver).
jest.mock(
  '@tensorflow/tfjs-node-gpu',
  () => {
    const tfjs = jest.requireActual('@tensorflow/tfjs');
    tfjs.registerBackend('tensorflow', () => {
      throw new Error('CUDA driver version is insufficient for CUDA runtime version');
    });
    return {};
  },
  { virtual: true },
);

describe('initializeBackend with a tfjs-node-gpu whose backend fails to initialise', () => {
  it("'auto' falls back to wasm", async () => {
    // tfjs itself warns about the failed initialisation; keep the test output clean.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const selection = await initializeBackend('auto');
    warn.mockRestore();
    expect(selection.backend).toBe('wasm');
    expect(selection.tried[0]).toEqual({
      backend: 'tensorflow',
      error: "backend 'tensorflow' failed to initialise",
    });
  });
});
