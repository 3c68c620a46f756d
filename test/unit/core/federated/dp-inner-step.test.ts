import { dpFedAvg, fedAvg, type AggregationStrategy } from '../../../../src/core/federated';

const f32 = (values: number[]) => Float32Array.from(values);
const context = { round: 1, expectedHospitals: 1, enrolledHospitals: 1 };

describe('dpFedAvg hands its noisy average to the inner strategy', () => {
  it('through the public aggregate of a strategy defined elsewhere', () => {
    const seen: Float32Array[] = [];
    const inner: AggregationStrategy = {
      name: 'custom',
      aggregate(global, updates) {
        seen.push(updates[0].delta);
        return { ...fedAvg().aggregate(global, updates, undefined, context), state: { calls: 1 } };
      },
    };
    const result = dpFedAvg(inner, { clipNorm: 1, noiseMultiplier: 0 }).aggregate(
      f32([1, 1]),
      [{ hospitalId: 'a', delta: f32([3, 4]), numExamples: 5 }],
      undefined,
      context,
    );
    expect(Array.from(seen[0])).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(result.state).toEqual({ inner: { calls: 1 } });
    expect(result.weights[0]).toBeCloseTo(1.6, 6);
  });

  it('still rejects an average that overflows float32, with the inner validation’s message', () => {
    const big = 3e38;
    const updates = ['a', 'b'].map((hospitalId) => ({ hospitalId, delta: f32([0, big]), numExamples: 1 }));
    const strategy = dpFedAvg(fedAvg(), { clipNorm: 1e300, noiseMultiplier: 0 });
    expect(() => strategy.aggregate(f32([0, 0]), updates, undefined, context)).toThrow(
      'hospital dp-aggregate: delta has a non-finite value (Infinity) at index 1',
    );
  });
});
