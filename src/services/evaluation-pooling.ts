import { createHash } from 'node:crypto';
import type { HospitalEvaluation, PooledQuality } from '../../schemas/metrics';
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
  const seed = createHash('sha256')
    .update(`${versionId}:${hospitals.join(',')}`)
    .digest()
    .readUInt32BE(0);
  return {
    metrics: metricsFromHistogram(merged),
    intervals: noiseIntervals(merged, new SeededRandom(seed)),
    hospitals,
    noiseStd: merged.noiseStd,
  };
}
