import * as tf from '@tensorflow/tfjs';
import {
  countParameters,
  createModel,
  getFlatWeights,
  initializeBackend,
  setFlatWeights,
} from '../../../../src/core/model';

beforeAll(async () => {
  await initializeBackend('auto');
});

describe('createModel', () => {
  it('builds the default MLP: 33 → 64 → 32 → 1 with a sigmoid output', () => {
    const model = createModel({ kind: 'mlp', inputDim: 33 }, 1);
    expect(model.layers.map((l) => l.name)).toEqual(['hidden_1', 'hidden_2', 'output']);
    expect(model.outputs[0].shape).toEqual([null, 1]);
    expect(countParameters(model)).toBe(33 * 64 + 64 + 64 * 32 + 32 + 32 + 1);
    expect(model.layers[2].getConfig().activation).toBe('sigmoid');
    model.dispose();
  });

  it("builds 'logistic' as one Dense(1, sigmoid)", () => {
    const model = createModel({ kind: 'logistic', inputDim: 5 }, 1);
    expect(model.layers).toHaveLength(1);
    expect(countParameters(model)).toBe(6);
    model.dispose();
  });

  it('adds dropout after each hidden layer when asked', () => {
    const model = createModel({ kind: 'mlp', inputDim: 4, hiddenUnits: [8, 4], dropout: 0.25 }, 1);
    expect(model.layers.map((l) => l.getClassName())).toEqual([
      'Dense',
      'Dropout',
      'Dense',
      'Dropout',
      'Dense',
    ]);
    model.dispose();
  });

  it('gives identical initial weights for the same seed and different ones for another seed', () => {
    const a = createModel({ kind: 'mlp', inputDim: 10 }, 42);
    const b = createModel({ kind: 'mlp', inputDim: 10 }, 42);
    const c = createModel({ kind: 'mlp', inputDim: 10 }, 43);
    expect(getFlatWeights(a)).toEqual(getFlatWeights(b));
    expect(getFlatWeights(a)).not.toEqual(getFlatWeights(c));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('seeds each layer differently, so equal-shaped layers do not start equal', () => {
    const model = createModel({ kind: 'mlp', inputDim: 8, hiddenUnits: [8, 8] }, 3);
    const [k1, , k2] = model.getWeights();
    expect(k1.dataSync()).not.toEqual(k2.dataSync());
    model.dispose();
  });

  it('rejects invalid specs with a clear reason', () => {
    expect(() => createModel({ kind: 'mlp', inputDim: 0 }, 1)).toThrow(/inputDim must be a positive integer/);
    expect(() => createModel({ kind: 'mlp', inputDim: 3, dropout: 1 }, 1)).toThrow(
      /dropout must be in \[0, 1\)/,
    );
    expect(() => createModel({ kind: 'mlp', inputDim: 3, hiddenUnits: [4, 0] }, 1)).toThrow(/hiddenUnits/);
    expect(() => createModel({ kind: 'logistic', inputDim: 3, hiddenUnits: [4] }, 1)).toThrow(
      /no hidden layers/,
    );
    expect(() => createModel({ kind: 'mlp', inputDim: 3, l2: -1 }, 1)).toThrow(/l2 must be/);
  });
});

describe('flat weights', () => {
  it('round-trip through setFlatWeights and getFlatWeights in getWeights() order', () => {
    const model = createModel({ kind: 'mlp', inputDim: 6, hiddenUnits: [5] }, 7);
    const flat = getFlatWeights(model);
    const fromGetWeights = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(Array.from(flat)).toEqual(fromGetWeights);

    const shifted = flat.map((v, i) => v + i * 0.001);
    setFlatWeights(model, shifted);
    expect(getFlatWeights(model)).toEqual(shifted);
    model.dispose();
  });

  it('rejects a vector of the wrong length', () => {
    const model = createModel({ kind: 'logistic', inputDim: 3 }, 1);
    expect(() => setFlatWeights(model, new Float32Array(3))).toThrow(
      /flat weight vector has 3 values but model '.+' has 4 trainable parameters/,
    );
    model.dispose();
  });

  it('does not leak tensors', () => {
    const model = createModel({ kind: 'mlp', inputDim: 6 }, 7);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) setFlatWeights(model, getFlatWeights(model));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
