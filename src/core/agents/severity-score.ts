import type { CohortRecord } from '../data';
import { LATENT_FEATURES } from '../data/feature-model';

/**
 * A fixed linear severity score every hospital computes the same way, with no training:
 *   score = Σ_j dir_j · λ_j · z_j + 0.02 · (age − 65),
 * z_j the value standardised by the reference median and IQR of CLINICAL_DATA.md §5.2 (on the log
 * scale for log-normal labs; IQR/1.349 as SD), λ_j and dir_j that table's loading on severity and
 * direction. A missing value counts as the reference median (z = 0), the usual convention of
 * APACHE/SAPS-type scores ("assume normal if not measured").
 * The global model's predicted risk would do as well where the model is at hand; this one needs
 * nothing but the record, so the treatment agent does not depend on a model version.
 */
export function severityScore(features: CohortRecord['features']): number {
  let score = 0;
  for (const feature of LATENT_FEATURES) {
    const x = features[feature.name];
    if (x === null || x === undefined || !Number.isFinite(x)) continue;
    const m = feature.marginal;
    let z: number;
    if (m.kind === 'normal') z = (x - m.median) / ((m.q3 - m.q1) / 1.349);
    else if (m.kind === 'lognormal')
      z = (Math.log(Math.max(x, 1e-3)) - Math.log(m.median)) / ((Math.log(m.q3) - Math.log(m.q1)) / 1.349);
    else z = (x - 13) / 3; // GCS: reference median 14 [11, 15]; centre 13, spread 3
    score += feature.direction * feature.loading * z;
  }
  const age = features.age;
  if (age !== null && age !== undefined) score += 0.02 * (age - 65);
  return score;
}
