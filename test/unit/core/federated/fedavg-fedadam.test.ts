import fc from 'fast-check';
import { fedAdam, fedAvg, type ClientUpdate } from '../../../../src/core/federated';

const context = { round: 1, expectedHospitals: 3, enrolledHospitals: 3 };
const f32 = (values: number[]) => Float32Array.from(values);

const roundInputs = fc.integer({ min: 1, max: 16 }).chain((length) =>
  fc.record({
    global: fc
      .array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: length, maxLength: length })
      .map(f32),
    updates: fc.uniqueArray(
      fc.record({
        hospitalId: fc.string({ minLength: 1, maxLength: 6 }),
        delta: fc
          .array(fc.float({ min: -1e3, max: 1e3, noNaN: true }), { minLength: length, maxLength: length })
          .map(f32),
        numExamples: fc.integer({ min: 1, max: 100_000 }),
      }),
      { minLength: 1, maxLength: 6, selector: (u) => u.hospitalId },
    ),
  }),
);

describe('fedAvg', () => {
  it('is global + eta * example-weighted mean of the deltas', () => {
    const global = f32([1, 1]);
    const updates: ClientUpdate[] = [
      { hospitalId: 'a', delta: f32([1, 0]), numExamples: 1 },
      { hospitalId: 'b', delta: f32([0, 1]), numExamples: 3 },
    ];
    expect(Array.from(fedAvg().aggregate(global, updates, undefined, context).weights)).toEqual([1.25, 1.75]);
    expect(
      Array.from(fedAvg({ weighting: 'uniform' }).aggregate(global, updates, undefined, context).weights),
    ).toEqual([1.5, 1.5]);
    const result = fedAvg({ serverLearningRate: 2 }).aggregate(global, updates, undefined, context);
    expect(Array.from(result.weights)).toEqual([1.5, 2.5]);
    expect(result.report).toMatchObject({
      strategy: 'fedavg',
      participants: ['a', 'b'],
      noiseStd: 0,
      privacyEvent: null,
    });
    expect(result.report.updateNorms).toEqual({ a: 1, b: 1 });
  });

  it('does not depend on the order the updates arrived in (bit for bit)', () => {
    fc.assert(
      fc.property(roundInputs, fc.context(), ({ global, updates }, ctx) => {
        const shuffled = [...updates].reverse();
        const rotated = [...updates.slice(1), updates[0]];
        ctx.log(`${updates.length} updates`);
        for (const strategy of [
          fedAvg(),
          fedAvg({ weighting: 'uniform' }),
          fedAdam({ serverLearningRate: 0.1 }),
        ]) {
          const expected = strategy.aggregate(global, updates, undefined, context).weights;
          expect(strategy.aggregate(global, shuffled, undefined, context).weights).toEqual(expected);
          expect(strategy.aggregate(global, rotated, undefined, context).weights).toEqual(expected);
        }
      }),
    );
  });

  it('does not mutate its inputs', () => {
    const global = f32([1, 2]);
    const delta = f32([3, 4]);
    fedAvg().aggregate(global, [{ hospitalId: 'a', delta, numExamples: 1 }], undefined, context);
    expect(Array.from(global)).toEqual([1, 2]);
    expect(Array.from(delta)).toEqual([3, 4]);
  });

  it('rejects bad rounds with errors that name the hospital', () => {
    const global = f32([0, 0]);
    const agg = (updates: ClientUpdate[]) => fedAvg().aggregate(global, updates, undefined, context);
    expect(() => agg([])).toThrow(/no updates/);
    expect(() => agg([{ hospitalId: 'h-7', delta: f32([0]), numExamples: 1 }])).toThrow(/h-7.*1 values.*2/);
    expect(() => agg([{ hospitalId: 'h-8', delta: f32([0, NaN]), numExamples: 1 }])).toThrow(
      /h-8.*non-finite.*NaN/,
    );
    expect(() => agg([{ hospitalId: 'h-9', delta: f32([Infinity, 0]), numExamples: 1 }])).toThrow(
      /h-9.*Infinity/,
    );
    expect(() =>
      agg([
        { hospitalId: 'x', delta: f32([0, 0]), numExamples: 1 },
        { hospitalId: 'x', delta: f32([0, 0]), numExamples: 1 },
      ]),
    ).toThrow(/x sent more than one/);
    expect(() => agg([{ hospitalId: 'h', delta: f32([0, 0]), numExamples: -1 }])).toThrow(/numExamples/);
    expect(() => agg([{ hospitalId: 'h', delta: f32([0, 0]), numExamples: 0 }])).toThrow(/no weight/);
  });
});

describe('fedAdam (Reddi et al. 2021, Algorithm 2)', () => {
  it('matches a hand-computed two-round example', () => {
    // eta = 0.1, beta1 = 0.9, beta2 = 0.99, tau = 0.01, x0 = [0, 0], m_{-1} = 0, v_{-1} = tau^2 = 1e-4.
    // Round 1: Delta = mean([1, -2], [3, 2]) = [2, 0]
    //   m = 0.1 * [2, 0] = [0.2, 0];  v = 0.99 * 1e-4 + 0.01 * [4, 0] = [0.040099, 0.000099]
    //   x1 = 0.1 * m / (sqrt(v) + 0.01) = [0.02 / 0.21024983..., 0] = [0.0951249..., 0]
    // Round 2: Delta = [-1, 1] (one hospital)
    //   m = 0.9 * [0.2, 0] + 0.1 * [-1, 1] = [0.08, 0.1]
    //   v = 0.99 * [0.040099, 0.000099] + 0.01 * [1, 1] = [0.04969801, 0.01009801]
    //   x2 = x1 + 0.1 * m / (sqrt(v) + 0.01)
    const strategy = fedAdam({ serverLearningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.01 });
    const r1 = strategy.aggregate(
      f32([0, 0]),
      [
        { hospitalId: 'a', delta: f32([1, -2]), numExamples: 10 },
        { hospitalId: 'b', delta: f32([3, 2]), numExamples: 30 },
      ],
      undefined,
      context,
    );
    const x1 = 0.02 / (Math.sqrt(0.040099) + 0.01);
    expect(r1.weights[0]).toBeCloseTo(x1, 6);
    expect(r1.weights[1]).toBe(0);
    (r1.state.m as number[]).forEach((m, i) => expect(m).toBeCloseTo([0.2, 0][i], 15));
    (r1.state.v as number[]).forEach((v, i) => expect(v).toBeCloseTo([0.040099, 0.000099][i], 15));

    // The state survives a JSON round trip, as it does between rounds in storage.
    const state = JSON.parse(JSON.stringify(r1.state));
    const r2 = strategy.aggregate(
      r1.weights,
      [{ hospitalId: 'a', delta: f32([-1, 1]), numExamples: 5 }],
      state,
      context,
    );
    const x2 = [
      Math.fround(x1) + (0.1 * 0.08) / (Math.sqrt(0.04969801) + 0.01),
      0 + (0.1 * 0.1) / (Math.sqrt(0.01009801) + 0.01),
    ];
    expect(r2.weights[0]).toBeCloseTo(x2[0], 6);
    expect(r2.weights[1]).toBeCloseTo(x2[1], 6);
    (r2.state.m as number[]).forEach((m, i) => expect(m).toBeCloseTo([0.08, 0.1][i], 15));
    (r2.state.v as number[]).forEach((v, i) => expect(v).toBeCloseTo([0.04969801, 0.01009801][i], 15));
  });

  it('rejects state of the wrong shape', () => {
    const strategy = fedAdam({ serverLearningRate: 0.1 });
    const updates = [{ hospitalId: 'a', delta: f32([1, 1]), numExamples: 1 }];
    expect(() => strategy.aggregate(f32([0, 0]), updates, { m: [0], v: [0] }, context)).toThrow(
      /2 finite numbers/,
    );
  });
});
