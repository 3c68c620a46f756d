import type { TrainingReport } from '../../../schemas/report';
import { criteriaOf, summarise, type TrainCriteriaRun } from '../../../bench/suites/train-criteria';

const metrics = (auroc: number, oe: number, slope = 1) => ({
  auroc,
  observedExpectedRatio: oe,
  calibrationSlope: slope,
});
const quality = (
  pooled: ReturnType<typeof metrics>,
  perHospital: Record<string, ReturnType<typeof metrics>>,
) => ({
  pooled,
  perHospital,
});

describe("issue 14's criteria from a himas train report", () => {
  it('holds the federated model against central at the same hospital and counts local-only wins', () => {
    const report = {
      baselines: [
        {
          name: 'federated (exact)',
          quality: quality(metrics(0.83, 1.05, 0.9), { h1: metrics(0.8, 1.3), h2: metrics(0.85, 1.0) }),
        },
        { name: 'federated, shared intercept (exact)', quality: quality(metrics(0.83, 1.4, 1.2), {}) },
        {
          name: 'central',
          quality: quality(metrics(0.845, 1.0), { h1: metrics(0.81, 1.1), h2: metrics(0.86, 0.7) }),
        },
        {
          name: 'local-only',
          quality: quality(metrics(0.82, 1.0), { h1: metrics(0.82, 1.0), h2: metrics(0.84, 1.0) }),
        },
      ],
    } as unknown as TrainingReport;
    const c = criteriaOf(report);
    expect(c.pooledOE).toBe(1.05);
    expect(c.slope).toBe(0.9);
    expect(c.aurocGap).toBeCloseTo(0.015, 12);
    // h1: ln 1.3 − ln 1.1 = 0.167; h2: 0 − |ln 0.7| = −0.357 (better than central there).
    expect(c.worstExcess).toBeCloseTo(Math.log(1.3) - Math.log(1.1), 12);
    expect(c.localOnlyWins).toBe(1);
    expect(c.hospitals).toBe(2);
    expect([c.sharedOE, c.sharedSlope]).toEqual([1.4, 1.2]);
    expect(() => criteriaOf({ baselines: [] } as unknown as TrainingReport)).toThrow(
      /no 'federated \(exact\)' baseline/,
    );
  });

  it('counts runs inside each range, edges included, and spreads the figures', () => {
    const run = (over: Partial<TrainCriteriaRun>): TrainCriteriaRun => ({
      seed: 1,
      variant: 'v',
      seconds: 1,
      pooledOE: 1,
      slope: 1,
      aurocGap: 0,
      worstExcess: 0,
      localOnlyWins: 0,
      hospitals: 3,
      ...over,
    });
    const s = summarise('v', [
      run({ pooledOE: 0.9, slope: 1.15, aurocGap: 0.02, worstExcess: 0.1 }),
      run({ pooledOE: 1.11, slope: 0.84, aurocGap: 0.021, worstExcess: 0.11, localOnlyWins: 2 }),
      run({ pooledOE: null, slope: null, aurocGap: null, worstExcess: null, localOnlyWins: 1 }),
    ]);
    expect(s).toMatchObject({
      runs: 3,
      pooledOEWithin: 1,
      slopeWithin: 1,
      aurocWithin: 1,
      everyHospitalWithin: 1,
      federatedBeatsEveryLocal: 1,
      meanLocalOnlyWins: 1,
    });
    expect(s.pooledOE).toEqual({ mean: (0.9 + 1.11) / 2, min: 0.9, max: 1.11 });
  });
});
