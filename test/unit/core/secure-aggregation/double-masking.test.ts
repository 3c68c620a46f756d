import fc from 'fast-check';
import {
  applyDoubleMask,
  checkSumBounds,
  chooseFixedPointScale,
  decideReveal,
  defaultThreshold,
  maskingSettingsProblem,
  removeSelfMask,
  RevealRefusedError,
  sumBounds,
  SumOutOfBoundsError,
  sumModular,
} from '../../../../src/core/secure-aggregation';
import { testExpander } from './test-expander';

const seed = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (n * 37 + i) & 255);

describe('applyDoubleMask / removeSelfMask', () => {
  it('pairwise masks cancel in the sum and removing every self-mask leaves Σ x (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 40 }), (k, length) => {
        const ids = Array.from({ length: k }, (_, i) => `h${i}`);
        const inputs = ids.map((_, i) => Int32Array.from({ length }, (_, j) => (i * 1000 + j) | 0));
        const pair = (a: number, b: number) => seed(100 + Math.min(a, b) * 10 + Math.max(a, b));
        const masked = ids.map((id, i) =>
          applyDoubleMask(
            inputs[i],
            id,
            seed(i),
            ids.flatMap((p, j) => (j === i ? [] : [{ peerId: p, seed: pair(i, j) }])),
            testExpander,
          ),
        );
        const sum = sumModular(masked, length);
        ids.forEach((_, i) => removeSelfMask(sum, seed(i), testExpander));
        expect(sum).toEqual(sumModular(inputs, length));
      }),
      { numRuns: 30 },
    );
  });

  it('a blob differs from its input with the self-mask alone (no peers)', () => {
    const x = new Int32Array(16);
    expect(applyDoubleMask(x, 'h1', seed(1), [], testExpander)).not.toEqual(x);
  });
});

describe('decideReveal', () => {
  const base = {
    selfId: 'a',
    participants: ['a', 'b', 'c', 'd'],
    received: new Map([
      ['a', 'sa'],
      ['b', 'sb'],
      ['c', 'sc'],
    ]),
    dropped: ['d'],
    sharesFrom: new Set(['d']),
  };

  it('names one share per participant: self-mask for received, masking-key for dropped', () => {
    const decision = decideReveal(base, null);
    expect([...decision]).toEqual([
      ['a', { kind: 'self-mask', updateSha256: 'sa' }],
      ['b', { kind: 'self-mask', updateSha256: 'sb' }],
      ['c', { kind: 'self-mask', updateSha256: 'sc' }],
      ['d', { kind: 'masking-key', updateSha256: null }],
    ]);
  });

  it.each([
    ['a participant both received and dropped', { dropped: ['d', 'c'] }, /says c both arrived and dropped/],
    ['a participant neither', { dropped: [] }, /has not said whether d arrived or dropped/],
    ['its own update not received', { selfId: 'd' }, /d's own update was not received/],
    ['an outsider', { dropped: ['d', 'x'] }, /x is not a participant/],
    ['a repeated participant', { participants: ['a', 'b', 'c', 'd', 'a'] }, /twice/],
  ])('refuses %s', (_, change, message) => {
    expect(() => decideReveal({ ...base, ...change }, null)).toThrow(message);
  });

  it('answers a dropped peer that sent no shares with its own pair seed, and treats both answers as one', () => {
    const noShares = decideReveal({ ...base, sharesFrom: new Set<string>() }, null);
    expect(noShares.get('d')).toEqual({ kind: 'pair-seed', updateSha256: null });
    // Its shares turning up later does not make a second answer for d: the first one stands.
    expect(decideReveal(base, noShares)).toBe(noShares);
  });

  it('re-sends nothing new: refuses a request that differs from its earlier reveal', () => {
    const first = decideReveal(base, null);
    expect(decideReveal(base, first)).toBe(first);
    const otherAttempt = { ...base, received: new Map([...base.received, ['c', 'sc2']]) };
    expect(() => decideReveal(otherAttempt, first)).toThrow(RevealRefusedError);
    expect(() => decideReveal(otherAttempt, first)).toThrow(/of update sc2/);
  });
});

describe('checkSumBounds', () => {
  const params = chooseFixedPointScale(1, 10);

  it('accepts K clipped updates at the bound and rejects one unit beyond a coordinate', () => {
    const { coordinateLimit } = sumBounds(params, 3, 1);
    expect(() => checkSumBounds(Int32Array.of(Math.floor(coordinateLimit)), params, 3)).not.toThrow();
    const over = Int32Array.of(Math.floor(coordinateLimit) + 1);
    expect(() => checkSumBounds(over, params, 3)).toThrow(SumOutOfBoundsError);
  });

  it('rejects a sum whose coordinates are each fine but whose L2 norm exceeds K·C', () => {
    const each = Math.round(0.9 * params.scale);
    const sum = new Int32Array(16).fill(each); // ‖Σ‖ = 0.9·4 = 3.6 > 3·C
    expect(() => checkSumBounds(sum, params, 3)).toThrow(/L2 norm 3\.6\d* > 3·C/);
    expect(() => checkSumBounds(sum, params, 4)).not.toThrow();
  });
});

describe('masking settings', () => {
  it('defaults the threshold to a majority, capped at the quorum, at least 2', () => {
    expect(defaultThreshold(3, 3)).toBe(2);
    expect(defaultThreshold(10, 10)).toBe(6);
    expect(defaultThreshold(10, 4)).toBe(4);
    expect(defaultThreshold(100, 100)).toBe(51);
  });

  it.each([
    [{ participants: 2, quorum: 2, threshold: 2, minHospitals: 3 }, /needs at least 3 hospitals \(got 2\)/],
    [
      { participants: 5, quorum: 1, threshold: 2, minHospitals: 3 },
      /quorum 1 is below the secure-aggregation minimum of 3/,
    ],
    [
      { participants: 5, quorum: 5, threshold: 1, minHospitals: 3 },
      /threshold 1 must be between 2 and the 5/,
    ],
    [{ participants: 5, quorum: 3, threshold: 4, minHospitals: 3 }, /threshold 4 is above the quorum 3/],
    [{ participants: 5, quorum: 5, threshold: 3, minHospitals: 1 }, /single hospital/],
    [{ participants: 256, quorum: 256, threshold: 129, minHospitals: 3 }, /at most 255/],
  ])('refuses %o', (settings, message) => {
    expect(maskingSettingsProblem(settings)).toMatch(message);
  });

  it('accepts the defaults with three hospitals', () => {
    expect(maskingSettingsProblem({ participants: 3, quorum: 3, threshold: 2, minHospitals: 3 })).toBeNull();
  });
});
