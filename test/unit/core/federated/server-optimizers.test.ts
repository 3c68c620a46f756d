import fc from 'fast-check';
import {
  coordinateMedian,
  fedAdagrad,
  fedAdam,
  fedAvgM,
  fedYogi,
  trimmedMean,
  type AggregationStrategy,
  type ClientUpdate,
} from '../../../../src/core/federated';

const context = { round: 1, expectedHospitals: 3, enrolledHospitals: 3 };
const f32 = (values: number[]) => Float32Array.from(values);
const update = (hospitalId: string, delta: number[], numExamples = 1): ClientUpdate => ({
  hospitalId,
  delta: f32(delta),
  numExamples,
});

/** Two rounds with the same updates; returns the weights after each. */
function twoRounds(strategy: AggregationStrategy, updates: ClientUpdate[], global = f32([0])) {
  const first = strategy.aggregate(global, updates, undefined, context);
  const second = strategy.aggregate(first.weights, updates, first.state, { ...context, round: 2 });
  return { first, second };
}

describe('adaptive server optimizers (Reddi et al. 2021, Alg. 2)', () => {
  const tau = 1e-3;
  const eta = 0.1;
  // One coordinate, mean update Δ = 0.5 both rounds.
  const updates = [update('a', [0.4]), update('b', [0.6])];

  it('FedAdagrad accumulates Δ² in v, so its second step is smaller than its first', () => {
    const { first, second } = twoRounds(fedAdagrad({ serverLearningRate: eta, tau }), updates);
    const m1 = 0.1 * 0.5;
    const v1 = tau * tau + 0.25;
    expect(first.weights[0]).toBeCloseTo((eta * m1) / (Math.sqrt(v1) + tau), 6);
    const m2 = 0.9 * m1 + 0.1 * 0.5;
    const v2 = v1 + 0.25;
    expect(second.weights[0] - first.weights[0]).toBeCloseTo((eta * m2) / (Math.sqrt(v2) + tau), 6);
    expect((second.state.v as number[])[0]).toBeCloseTo(v2, 6);
  });

  it('FedYogi moves v towards Δ² additively, by sign, and differs from FedAdam', () => {
    const yogi = twoRounds(fedYogi({ serverLearningRate: eta, tau }), updates);
    const adam = twoRounds(fedAdam({ serverLearningRate: eta, tau }), updates);
    // v_{-1} = τ² < Δ²: Yogi adds (1 − β2)·Δ²; Adam mixes β2·τ² + (1 − β2)·Δ²: not the same v.
    const yogiV1 = tau * tau + 0.01 * 0.25;
    const adamV1 = 0.99 * tau * tau + 0.01 * 0.25;
    expect((yogi.first.state.v as number[])[0]).toBeCloseTo(yogiV1, 8);
    expect((adam.first.state.v as number[])[0]).toBeCloseTo(adamV1, 8);
    expect(yogi.first.weights[0]).not.toBe(adam.first.weights[0]);
    // When Δ² falls below v, Yogi shrinks v by (1 − β2)·Δ², never below zero.
    const small = [update('a', [0.001]), update('b', [0.001])];
    const after = fedYogi({ serverLearningRate: eta, tau }).aggregate(
      f32([0]),
      small,
      { m: [0], v: [0.5] },
      context,
    );
    expect((after.state.v as number[])[0]).toBeCloseTo(0.5 - 0.01 * 1e-6, 12);
  });

  it('refuses a state of the wrong length, and bad hyperparameters', () => {
    expect(() =>
      fedYogi({ serverLearningRate: eta }).aggregate(
        f32([0, 0]),
        [update('a', [1, 1])],
        { m: [0], v: [0] },
        context,
      ),
    ).toThrow(/fedyogi state must hold m and v as arrays of 2 finite numbers/);
    expect(() => fedAdagrad({ serverLearningRate: 0 })).toThrow(/serverLearningRate must be positive/);
    expect(() => fedYogi({ serverLearningRate: 1, beta2: 1 })).toThrow(/beta2 must be in \[0, 1\)/);
  });
});

describe('FedAvgM (Hsu et al. 2019)', () => {
  it('carries momentum: the second identical round steps η·(β·Δ + Δ)', () => {
    const { first, second } = twoRounds(fedAvgM({ serverLearningRate: 1, momentum: 0.9 }), [
      update('a', [1], 1),
      update('b', [3], 3),
    ]);
    // Example-weighted Δ = (1·1 + 3·3) / 4 = 2.5.
    expect(first.weights[0]).toBeCloseTo(2.5, 6);
    expect(second.weights[0] - first.weights[0]).toBeCloseTo(0.9 * 2.5 + 2.5, 5);
  });

  it('with momentum 0 is FedAvg, and refuses momentum 1', () => {
    const updates = [update('a', [0.2, -1], 10), update('b', [0.6, 1], 30)];
    const plain = fedAvgM({ serverLearningRate: 1, momentum: 0 }).aggregate(
      f32([1, 1]),
      updates,
      undefined,
      context,
    );
    expect(Array.from(plain.weights)).toEqual([Math.fround(1 + 0.5), Math.fround(1 + 0.5)]);
    expect(() => fedAvgM({ serverLearningRate: 1, momentum: 1 })).toThrow(/momentum must be in \[0, 1\)/);
  });
});

describe('robust aggregation (Yin et al. 2018)', () => {
  const honest = [update('h1', [0.1, -0.2]), update('h2', [0.12, -0.18]), update('h3', [0.08, -0.22])];
  const poisoner = update('h4', [1e6, -1e6], 1e9);

  it('a poisoning hospital with a huge update cannot drag the coordinate-wise median', () => {
    const result = coordinateMedian().aggregate(f32([0, 0]), [...honest, poisoner], undefined, context);
    // Median of 4: the mean of the middle two, both honest values.
    expect(result.weights[0]).toBeCloseTo((0.1 + 0.12) / 2, 6);
    expect(result.weights[1]).toBeCloseTo((-0.22 + -0.2) / 2, 6);
    expect(result.report.strategy).toBe('median');
  });

  it('the trimmed mean drops ⌊β·K⌋ updates at each end of every coordinate', () => {
    const five = [...honest, poisoner, update('h5', [-1e6, 1e6])];
    const result = trimmedMean({ trimFraction: 0.2 }).aggregate(f32([0, 0]), five, undefined, context);
    expect(result.weights[0]).toBeCloseTo((0.1 + 0.12 + 0.08) / 3, 6);
    // β = 0 is the plain (unweighted) mean: the poisoner wins.
    const plain = trimmedMean({ trimFraction: 0 }).aggregate(
      f32([0, 0]),
      [...honest, poisoner],
      undefined,
      context,
    );
    expect(plain.weights[0]).toBeGreaterThan(1e5);
    expect(() => trimmedMean({ trimFraction: 0.5 })).toThrow(/trimFraction must be in \[0, 0\.5\)/);
  });

  it('does not depend on the order the updates arrive in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 3, maxLength: 7 }),
        (values) => {
          const updates = values.map((v, k) => update(`h${k}`, [v]));
          for (const strategy of [coordinateMedian(), trimmedMean({ trimFraction: 0.25 })]) {
            const forward = strategy.aggregate(f32([0]), updates, undefined, context).weights;
            const backward = strategy.aggregate(f32([0]), [...updates].reverse(), undefined, context).weights;
            expect(Array.from(backward)).toEqual(Array.from(forward));
          }
        },
      ),
    );
  });
});
