import { createHash } from 'node:crypto';
import type {
  HospitalEvaluation,
  MetricIntervals,
  PooledQuality,
  RiskHistogram,
} from '../../schemas/metrics';
import { metricsFromHistogram, noiseIntervals } from '../core/evaluation/pooled-metrics';
import { mergeHistograms } from '../core/evaluation/risk-histogram';
import { SeededRandom } from '../core/random/seeded-random';

/**
 * A version's pooled quality from the hospitals' noisy evaluation releases: metrics of the summed
 * histograms and 95 % intervals of the DP noise (a parametric bootstrap). Post-processing only, so
 * its bootstrap draws may be seeded: from the version and who reported, so a recomputation after a
 * crash writes the same figures.
 */
export function pooledQuality(versionId: string, evaluations: readonly HospitalEvaluation[]): PooledQuality {
  const hospitals = evaluations.map((e) => e.hospitalId).sort();
  const merged = mergeHistograms(evaluations.map((e) => e.histogram));
  return {
    metrics: metricsFromHistogram(merged),
    intervals: releaseIntervals(`${versionId}:${hospitals.join(',')}`, merged),
    hospitals,
    noiseStd: merged.noiseStd,
  };
}

/** One hospital's figures' intervals of the DP noise, seeded from the version and the hospital. */
export function hospitalIntervals(versionId: string, evaluation: HospitalEvaluation): MetricIntervals {
  return releaseIntervals(`${versionId}:hospital:${evaluation.hospitalId}`, evaluation.histogram);
}

function releaseIntervals(label: string, histogram: RiskHistogram): MetricIntervals {
  const seed = createHash('sha256').update(label).digest().readUInt32BE(0);
  return noiseIntervals(histogram, new SeededRandom(seed));
}
