/**
 * Is there enough of a stay to estimate its risk? A model scores any row, however empty: every
 * missing value is imputed at the training mean, so a stay with almost nothing measured gets an
 * estimate that is the average stay's, which reads as "low risk" to a clinician. HIMAS answers
 * "insufficient data" instead.
 *
 * The rule, from clinical sense: an ICU mortality estimate rests on the first-24 h physiology that
 * severity scores are built from. SAPS II (Le Gall, Lemeshow, Saulnier 1993, JAMA 270:2957; the
 * mimic-code `sapsii` concept, ../shared/reference/CLINICAL_DATA.md §2) scores age and twelve
 * physiological variables; eleven of them are HIMAS inputs (PaO2/FiO2 is not). A stay is scored
 * only when at least MIN_MEASURED_SAPS_VARIABLES of those eleven were measured (more than half),
 * and heart rate or a blood pressure is among them (a stay with neither has no vital signs at all).
 */
export const SAPS_II_INPUTS: readonly string[] = Object.freeze([
  'heart_rate_mean',
  'sbp_mean',
  'temperature_mean',
  'gcs_min',
  'urineoutput',
  'bun_max',
  'wbc_max',
  'potassium_max',
  'sodium_max',
  'bicarbonate_min',
  'bilirubin_total_max',
]);

export const MIN_MEASURED_SAPS_VARIABLES = 6;

const VITAL_SIGNS: readonly string[] = ['heart_rate_mean', 'sbp_mean', 'dbp_mean', 'mbp_mean'];

export interface DataSufficiency {
  sufficient: boolean;
  /** How many of SAPS_II_INPUTS were measured (plausible values only). */
  measuredSapsVariables: number;
  /** Why not, in one sentence with what to measure; null when sufficient. */
  reason: string | null;
}

/** `features`: the stay's values after screening (implausible values already null). */
export function dataSufficiency(
  features: Readonly<Record<string, number | null | undefined>>,
): DataSufficiency {
  const measured = (name: string) => features[name] !== null && features[name] !== undefined;
  const present = SAPS_II_INPUTS.filter(measured);
  const missing = SAPS_II_INPUTS.filter((name) => !measured(name));
  const hasVitals = VITAL_SIGNS.some(measured);
  if (present.length >= MIN_MEASURED_SAPS_VARIABLES && hasVitals)
    return { sufficient: true, measuredSapsVariables: present.length, reason: null };
  const why = !hasVitals
    ? 'no heart rate or blood pressure was measured'
    : `only ${present.length} of the ${SAPS_II_INPUTS.length} SAPS II variables HIMAS uses were measured (at least ${MIN_MEASURED_SAPS_VARIABLES} are needed)`;
  return {
    sufficient: false,
    measuredSapsVariables: present.length,
    reason: `${why}; missing: ${missing.join(', ')}. An estimate would be mostly the average stay's imputed values, so none is given`,
  };
}
