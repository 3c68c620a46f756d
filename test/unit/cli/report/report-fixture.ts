import { TrainingReportSchema, type ModelQuality, type TrainingReport } from '../../../../schemas/report';
import type { MetricIntervals, Metrics, RiskHistogram } from '../../../../schemas/metrics';
import { metricsFromHistogram } from '../../../../src/core/evaluation/pooled-metrics';
import { EVALUATION_RISK_CUTS, mergeHistograms } from '../../../../src/core/evaluation/risk-histogram';

/** A hostile hospital id: report.html must show it as text, never run it. */
export const HOSTILE_ID = '<script>alert(1)</script>';

export interface FixtureOptions {
  hospitalIds?: string[];
  rounds?: number;
  /** Rounds (1-based) that failed: no model version, no ε step. */
  failedRounds?: number[];
  /** Patient-level DP-SGD: no hospital reports a training loss (default: off, losses reported). */
  dpSgd?: boolean;
}

/** Stays per public risk bin of a hospital's test split: most at low risk, few above 50 %. */
const STAYS_PER_BIN = [70, 60, 45, 50, 40, 30, 30, 20, 14, 8, 5, 4, 2];

/**
 * A released risk histogram of one hospital: deaths at `oe` times the bin's midpoint risk, plus a
 * fixed pattern standing in for the DP noise of SD `noiseStd` (some counts go negative, as real
 * releases do).
 */
export function fixtureHistogram(hospital: number, oe: number, noiseStd: number): RiskHistogram {
  const cuts = [...EVALUATION_RISK_CUTS];
  const scale = 1 + 0.25 * hospital;
  const wobble = (b: number, k: number) => noiseStd * (((b * 7 + hospital * 3 + k) % 5) - 2) * 0.6;
  const positives = STAYS_PER_BIN.map((n, b) => {
    const mid = (cuts[b] + cuts[b + 1]) / 2;
    return n * scale * Math.min(1, mid * oe) + wobble(b, 0);
  });
  const negatives = STAYS_PER_BIN.map((n, b) => {
    const mid = (cuts[b] + cuts[b + 1]) / 2;
    return n * scale * (1 - Math.min(1, mid * oe)) + wobble(b, 2);
  });
  return { cuts, positives, negatives, noiseStd };
}

const interval = (m: Metrics, key: keyof MetricIntervals, half: number): [number, number] | null => {
  const value = m[key];
  return value === null ? null : [value - half, value + half];
};

function intervalsOf(m: Metrics): MetricIntervals {
  return {
    auroc: interval(m, 'auroc', 0.031),
    auprc: interval(m, 'auprc', 0.05),
    brier: interval(m, 'brier', 0.01),
    observedExpectedRatio: interval(m, 'observedExpectedRatio', 0.21),
    calibrationSlope: interval(m, 'calibrationSlope', 0.18),
    loss: interval(m, 'loss', 0.02),
  };
}

/**
 * The final model's quality as releases give it: metrics, intervals and the histograms behind
 * them, per hospital and pooled (O:E 1.1, 1.35, 1.6 by hospital: the last two off target).
 */
export function releasedQuality(ids: string[]): ModelQuality {
  const perHospitalHistograms = Object.fromEntries(
    ids.map((id, i) => [id, fixtureHistogram(i, 1.1 + 0.25 * (i % 3), 4)]),
  );
  const pooledHistogram = mergeHistograms(Object.values(perHospitalHistograms));
  const perHospital = Object.fromEntries(
    ids.map((id) => [id, metricsFromHistogram(perHospitalHistograms[id])]),
  );
  const pooled = metricsFromHistogram(pooledHistogram);
  return {
    pooled,
    perHospital,
    intervals: intervalsOf(pooled),
    histograms: { pooled: pooledHistogram, perHospital: perHospitalHistograms },
    hospitalIntervals: Object.fromEntries(ids.map((id) => [id, intervalsOf(perHospital[id])])),
  };
}

const DEFAULT_IDS = ['st-mary-icu', 'northgate-general', 'riverside-university'];

/** Deterministic metrics that improve with the round and differ by hospital. */
function metrics(hospital: number, round: number, n: number): Metrics {
  const prevalence = 0.08 + 0.03 * (hospital % 4);
  const positives = Math.round(n * prevalence);
  const learned = 1 - Math.exp(-round / 2.5);
  const auroc = 0.55 + 0.01 * (hospital % 5) + (0.18 + 0.012 * (hospital % 7)) * learned;
  const loss = 0.64 + 0.008 * (hospital % 6) - (0.16 + 0.01 * (hospital % 4)) * learned;
  return {
    n,
    positives,
    auroc,
    auprc: Math.min(1, prevalence + (auroc - 0.5) * 0.6),
    brier: 0.11 - 0.006 * round + 0.002 * (hospital % 3),
    observedExpectedRatio: 0.8 + 0.04 * round + 0.01 * hospital,
    calibrationSlope: round === 0 ? null : 0.7 + 0.06 * round,
    calibrationIntercept: round === 0 ? null : -0.1 + 0.02 * round,
    loss,
  };
}

function pooled(perHospital: Record<string, Metrics>): Metrics {
  const all = Object.values(perHospital);
  const n = all.reduce((s, m) => s + m.n, 0);
  // Weighted by test stays over the hospitals that could compute the metric.
  const weighted = (key: 'auroc' | 'auprc' | 'brier' | 'loss'): number => {
    const known = all.filter((m) => m[key] !== null);
    return known.reduce((s, m) => s + (m[key] ?? 0) * m.n, 0) / known.reduce((s, m) => s + m.n, 0);
  };
  return {
    n,
    positives: all.reduce((s, m) => s + m.positives, 0),
    auroc: weighted('auroc'),
    auprc: weighted('auprc'),
    brier: weighted('brier'),
    observedExpectedRatio: 0.97,
    calibrationSlope: 0.93,
    calibrationIntercept: -0.02,
    loss: weighted('loss'),
  };
}

/**
 * A realistic report: hospitals, rounds (some failed), a version per closed round (one never
 * evaluated), some null metrics, a no-noise hospital-level guarantee (ε = ∞) and a patient-level
 * one with a finite ε, two baselines and notes. Parsed with the schema, so it is valid by
 * construction.
 */
export function buildReport(options: FixtureOptions = {}): TrainingReport {
  const ids = options.hospitalIds ?? DEFAULT_IDS;
  const roundCount = options.rounds ?? 5;
  const failed = new Set(options.failedRounds ?? (roundCount >= 3 ? [3] : []));
  const testStays = ids.map((_, i) => 180 + 37 * ((i * 7) % 11));

  const quality = (round: number) => {
    const perHospital: Record<string, Metrics> = {};
    ids.forEach((id, i) => {
      const m = metrics(i, round, testStays[i]);
      // The first hospital cannot compute AUROC on v0 (a test split seen with one class) in this fixture.
      perHospital[id] = i === 0 && round === 0 ? { ...m, auroc: null, auprc: null, loss: null } : m;
    });
    return { pooled: pooled(perHospital), perHospital };
  };

  const rounds = Array.from({ length: roundCount }, (_, k) => {
    const round = k + 1;
    const isFailed = failed.has(round);
    const participants = isFailed ? ids.slice(0, 1) : ids;
    const hospitals = Object.fromEntries(
      participants.map((id, i) => [
        id,
        {
          trainLoss: options.dpSgd
            ? null
            : round === 2 && i === 1
              ? null
              : 0.44 + 0.01 * (i % 5) + 0.16 * Math.exp(-round / 2.5),
          trainSeconds: 4.2 + i,
          status: isFailed && i === 0 ? ('rejected' as const) : ('accepted' as const),
          reason: isFailed && i === 0 ? 'update L2 norm 14.2 exceeds the clip norm check' : null,
        },
      ]),
    );
    return {
      round,
      status: isFailed ? ('failed' as const) : ('closed' as const),
      seconds: isFailed ? 600 : 11.5 + round * 0.7,
      modelVersionId: isFailed ? null : `v${round}`,
      participants,
      failureReason: isFailed ? 'quorum not reached: 0 of 3 accepted updates before the deadline' : null,
      hospitals,
      epsilon: null,
    };
  });

  const closedRounds = rounds.filter((r) => r.status === 'closed').map((r) => r.round);
  const lastClosed = closedRounds.length > 0 ? closedRounds[closedRounds.length - 1] : 0;
  const versions = [0, ...closedRounds].map((round) => ({
    versionId: `v${round}`,
    round,
    // The version before the last was never evaluated (its evaluation jobs timed out).
    quality:
      round !== 0 && round === closedRounds[closedRounds.length - 2] && closedRounds.length > 2
        ? null
        : quality(round),
  }));
  const finalQuality = quality(lastClosed);
  // The final version as its releases report it: what the final-model table and diagrams show.
  const released = releasedQuality(ids);
  const lastVersion = versions.at(-1)!;
  if (lastClosed > 0) lastVersion.quality = released;

  return TrainingReportSchema.parse({
    runId: 'run-2026-11-27T18-40-12-8f3a',
    status: 'completed',
    haltReason: null,
    createdAt: '2026-11-27T18:40:12.000Z',
    completedAt: '2026-11-27T18:43:41.000Z',
    wallSeconds: 209.4,
    backend: 'embedded (tfjs-node, 2 workers)',
    config: {
      rounds: roundCount,
      hospitals: ids.length,
      preset: 'archetypes',
      patients: 6000,
      hiddenUnits: [64, 32],
      patientPrivacy: options.dpSgd ? 'dp-sgd' : 'none',
    },
    dataSource: { kind: 'synthetic', location: '.himas/runs/run-2026-11-27/cohort & "stays".csv' },
    hospitals: ids.map((hospitalId, i) => ({
      hospitalId,
      trainStays: testStays[i] * 4,
      testStays: i === 2 ? null : testStays[i],
    })),
    rounds,
    outcome: {
      kind: 'succeeded',
      reason: `${closedRounds.length} of ${roundCount} rounds closed; the model is v${lastClosed}`,
      modelVersionId: `v${lastClosed}`,
      divergedVersionId: null,
      divergence: {
        diverged: false,
        judged: true,
        reason: 'no worse than the initial model on pooled loss and AUROC',
      },
    },
    versions,
    finalModel: {
      versionId: `v${lastClosed}`,
      quality: released,
      directory: '.himas/runs/run-2026-11-27/model',
    },
    privacy: [
      {
        unit: 'hospital',
        epsilon: null,
        delta: 1e-5,
        order: null,
        noiseMultiplier: 0,
        clipNorm: 2,
        samplingProbability: 1,
        steps: closedRounds.length,
        accountant: 'rdp-sampled-gaussian+balle2020',
        budgetEpsilon: null,
      },
      {
        unit: 'patient',
        epsilon: 3.2174,
        delta: 1e-5,
        order: 12,
        noiseMultiplier: 1.1,
        clipNorm: 1,
        samplingProbability: 0.0107,
        steps: 940,
        accountant: 'rdp-sampled-gaussian+balle2020',
        budgetEpsilon: 4,
      },
    ],
    baselines: [
      {
        name: 'centralized-mlp',
        description: 'The same MLP trained on all hospitals’ pooled training records.',
        quality: {
          ...finalQuality,
          pooled: { ...finalQuality.pooled, auroc: 0.812, auprc: 0.421, brier: 0.081 },
        },
      },
      {
        name: 'local-only',
        description: 'Each hospital trains on its own records only; evaluated on its own test split.',
        quality: { ...quality(1), pooled: { ...quality(1).pooled, brier: null } },
      },
    ],
    notes: [
      'No noise was added (noise multiplier 0): the hospital-level guarantee is ε = ∞.',
      `Round 3 failed: quorum not reached; ${ids.length} hospitals enrolled.`,
    ],
  });
}
