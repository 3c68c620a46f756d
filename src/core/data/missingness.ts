import type { SeededRandom } from '../random/seeded-random';
import type { NumericFeature } from './features';
import { sigmoid } from './sampling';

/**
 * Missingness model of CLINICAL_DATA.md §5.3: per measurement group a logistic probability
 * P(missing) = σ(base + slope·s [+ m_h for optional tests]); a negative slope means sicker stays
 * are measured more often (missing not at random). Features measured together (a blood-pressure
 * reading, a basic metabolic panel, a blood count, a GCS assessment) go missing together.
 */
export interface MissingnessGroup {
  name: string;
  features: readonly NumericFeature[];
  /** Logit of P(missing) at s = 0; chosen so the overall rate lands on the §5.3 target. */
  baseLogit: number;
  /** MNAR slope on the latent severity s (§5.3 "slope"). */
  severitySlope: number;
  /** Optional tests (lactate, bilirubin) follow the hospital's testing intensity m_h. */
  optional: boolean;
  /** Whole-site absence (eICU hospitals without the I/O interface, §1.5) applies to this group. */
  interfaceDependent: boolean;
}

export const MISSINGNESS_GROUPS: readonly MissingnessGroup[] = [
  // HR is required for an ICU stay to exist (§1.1), so it is never missing.
  {
    name: 'blood pressure',
    features: ['sbp_mean', 'dbp_mean', 'mbp_mean'],
    baseLogit: -5,
    severitySlope: 0,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'respiratory rate',
    features: ['resp_rate_mean'],
    baseLogit: -5,
    severitySlope: 0,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'SpO2',
    features: ['spo2_mean'],
    baseLogit: -4.6,
    severitySlope: 0,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'temperature',
    features: ['temperature_mean'],
    baseLogit: -3.5,
    severitySlope: 0,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'GCS',
    features: ['gcs_min', 'gcs_unable'],
    baseLogit: -3.2,
    severitySlope: 0,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'basic metabolic panel',
    features: ['creatinine_max', 'bun_max', 'sodium_max', 'potassium_max', 'bicarbonate_min', 'glucose_max'],
    baseLogit: -2.9,
    severitySlope: -0.3,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'blood count',
    features: ['hemoglobin_min', 'wbc_max', 'platelets_min'],
    baseLogit: -2.9,
    severitySlope: -0.3,
    optional: false,
    interfaceDependent: false,
  },
  {
    name: 'lactate',
    features: ['lactate_max'],
    baseLogit: -0.15,
    severitySlope: -0.8,
    optional: true,
    interfaceDependent: false,
  },
  {
    name: 'bilirubin',
    features: ['bilirubin_total_max'],
    baseLogit: 0.1,
    severitySlope: -0.5,
    optional: true,
    interfaceDependent: false,
  },
  {
    name: 'urine output',
    features: ['urineoutput'],
    baseLogit: -2.5,
    severitySlope: 0,
    optional: false,
    interfaceDependent: true,
  },
];

/** The site-level inputs of the missingness model. */
export interface SiteMeasurementPractice {
  /** m_h, added to the missingness logit of optional tests; negative = tests more (§5.1 step 1). */
  testingIntensityLogit: number;
  /** No urine-output interface: urine output missing for every stay (§1.5, eICU). */
  urineOutputInterfaceMissing: boolean;
}

/** Features this stay is missing, given its latent severity and the site's practice. */
export function drawMissingFeatures(
  random: SeededRandom,
  severity: number,
  site: SiteMeasurementPractice,
): Set<NumericFeature> {
  const missing = new Set<NumericFeature>();
  for (const group of MISSINGNESS_GROUPS) {
    const logit =
      group.baseLogit + group.severitySlope * severity + (group.optional ? site.testingIntensityLogit : 0);
    const u = random.nextDouble(); // drawn unconditionally so one site's interface does not shift the stream
    const absent = (group.interfaceDependent && site.urineOutputInterfaceMissing) || u < sigmoid(logit);
    if (absent) for (const feature of group.features) missing.add(feature);
  }
  return missing;
}
