/**
 * Named abnormal findings in a stay's first-24 h values, at thresholds taken from public guidance.
 * They key the guideline retrieval (guideline-retrieval.ts) beside the model's top features, so a
 * narrative can say "lactate above 2 mmol/L" and cite why that matters. They are not a score and
 * the model does not see them.
 */
export interface ClinicalFinding {
  id: string;
  /** What was found, without the value (safe to send to a language model). */
  text: string;
  /** Words the retrieval query gets for it. */
  terms: string[];
  /** The features it reads. */
  features: string[];
}

interface FindingRule extends ClinicalFinding {
  applies(v: (name: string) => number | null): boolean;
}

const above = (x: number | null, t: number) => x !== null && x > t;
const atLeast = (x: number | null, t: number) => x !== null && x >= t;
const below = (x: number | null, t: number) => x !== null && x < t;
const atMost = (x: number | null, t: number) => x !== null && x <= t;

/** Thresholds: Surviving Sepsis Campaign 2021, Sepsis-3/SOFA (Singer 2016), KDIGO AKI 2012, qSOFA. */
const RULES: readonly FindingRule[] = [
  {
    id: 'lactate-high',
    text: 'lactate above 2 mmol/L',
    terms: ['lactate', 'hyperlactatemia', 'hypoperfusion', 'sepsis'],
    features: ['lactate_max'],
    applies: (v) => above(v('lactate_max'), 2) && !atLeast(v('lactate_max'), 4),
  },
  {
    id: 'lactate-very-high',
    text: 'lactate at or above 4 mmol/L',
    terms: ['lactate', 'hyperlactatemia', 'shock', 'resuscitation', 'fluid'],
    features: ['lactate_max'],
    applies: (v) => atLeast(v('lactate_max'), 4),
  },
  {
    id: 'hypotension',
    text: 'mean arterial pressure below 65 mmHg',
    terms: ['hypotension', 'mean', 'arterial', 'pressure', 'vasopressor', 'shock'],
    features: ['mbp_mean'],
    applies: (v) => below(v('mbp_mean'), 65),
  },
  {
    id: 'systolic-low',
    text: 'systolic pressure at or below 100 mmHg (a qSOFA criterion)',
    terms: ['systolic', 'hypotension', 'qsofa', 'sepsis'],
    features: ['sbp_mean'],
    applies: (v) => atMost(v('sbp_mean'), 100),
  },
  {
    id: 'tachypnoea',
    text: 'respiratory rate of 22/min or more (a qSOFA criterion)',
    terms: ['respiratory', 'rate', 'tachypnea', 'qsofa', 'sepsis'],
    features: ['resp_rate_mean'],
    applies: (v) => atLeast(v('resp_rate_mean'), 22),
  },
  {
    id: 'low-gcs',
    text: 'Glasgow Coma Scale of 8 or less',
    terms: ['glasgow', 'coma', 'consciousness', 'neurological', 'airway'],
    features: ['gcs_min'],
    applies: (v) => atMost(v('gcs_min'), 8),
  },
  {
    id: 'oliguria',
    text: 'urine output under 500 mL in the first 24 h',
    terms: ['urine', 'output', 'oliguria', 'kidney', 'aki'],
    features: ['urineoutput'],
    applies: (v) => below(v('urineoutput'), 500),
  },
  {
    id: 'creatinine-high',
    text: 'creatinine at or above 2.0 mg/dL',
    terms: ['creatinine', 'kidney', 'renal', 'aki'],
    features: ['creatinine_max'],
    applies: (v) => atLeast(v('creatinine_max'), 2),
  },
  {
    id: 'hyperkalaemia',
    text: 'potassium above 6.0 mmol/L',
    terms: ['potassium', 'hyperkalemia', 'kidney', 'arrhythmia'],
    features: ['potassium_max'],
    applies: (v) => above(v('potassium_max'), 6),
  },
  {
    id: 'hypoxaemia',
    text: 'mean SpO₂ below 92 %',
    terms: ['oxygen', 'saturation', 'spo2', 'hypoxemia', 'respiratory'],
    features: ['spo2_mean'],
    applies: (v) => below(v('spo2_mean'), 92),
  },
  {
    id: 'thrombocytopenia',
    text: 'platelets below 100 × 10⁹/L',
    terms: ['platelets', 'thrombocytopenia', 'coagulation', 'sofa'],
    features: ['platelets_min'],
    applies: (v) => below(v('platelets_min'), 100),
  },
  {
    id: 'bilirubin-high',
    text: 'bilirubin at or above 2.0 mg/dL',
    terms: ['bilirubin', 'liver', 'hepatic', 'sofa'],
    features: ['bilirubin_total_max'],
    applies: (v) => atLeast(v('bilirubin_total_max'), 2),
  },
  {
    id: 'fever-or-hypothermia',
    text: 'mean temperature above 38.3 °C or below 36 °C',
    terms: ['temperature', 'fever', 'hypothermia', 'infection', 'sepsis'],
    features: ['temperature_mean'],
    applies: (v) => above(v('temperature_mean'), 38.3) || below(v('temperature_mean'), 36),
  },
  {
    id: 'hyperglycaemia',
    text: 'glucose above 180 mg/dL',
    terms: ['glucose', 'hyperglycemia', 'insulin'],
    features: ['glucose_max'],
    applies: (v) => above(v('glucose_max'), 180),
  },
];

/** The findings among the values used for the prediction (out-of-range values are already null). */
export function clinicalFindings(features: Readonly<Record<string, number | null>>): ClinicalFinding[] {
  const v = (name: string) => {
    const x = features[name];
    return x === undefined || x === null || !Number.isFinite(x) ? null : x;
  };
  return RULES.filter((rule) => rule.applies(v)).map(({ id, text, terms, features: f }) => ({
    id,
    text,
    terms,
    features: f,
  }));
}
