/**
 * A small guideline corpus for the clinical decision-support narrative: short passages written
 * for HIMAS in our own words (summaries, not quotations), each citing the public source it
 * summarises. It is shipped as code so every deployment retrieves from the same text; it is not a
 * substitute for reading the guideline, and the citation is there so a clinician can.
 */
export interface GuidelinePassage {
  id: string;
  title: string;
  text: string;
  /** Feature names and words that should find this passage besides its text. */
  tags: string[];
  source: { citation: string; url?: string };
}

const SSC_2021 = {
  citation:
    'Evans L, et al. Surviving Sepsis Campaign: international guidelines for management of sepsis and septic shock 2021. Crit Care Med 2021;49(11):e1063–e1143.',
  url: 'https://doi.org/10.1097/CCM.0000000000005337',
};
const SEPSIS_3 = {
  citation:
    'Singer M, et al. The Third International Consensus Definitions for Sepsis and Septic Shock (Sepsis-3). JAMA 2016;315(8):801–810.',
  url: 'https://doi.org/10.1001/jama.2016.0287',
};
const KDIGO_AKI = {
  citation:
    'Kidney Disease: Improving Global Outcomes (KDIGO) Acute Kidney Injury Work Group. KDIGO Clinical Practice Guideline for Acute Kidney Injury. Kidney Int Suppl 2012;2(1):1–138.',
  url: 'https://kdigo.org/guidelines/acute-kidney-injury/',
};
const SOFA = {
  citation:
    'Vincent JL, et al. The SOFA (Sepsis-related Organ Failure Assessment) score to describe organ dysfunction/failure. Intensive Care Med 1996;22:707–710.',
  url: 'https://doi.org/10.1007/BF01709751',
};

export const GUIDELINE_PASSAGES: readonly GuidelinePassage[] = [
  {
    id: 'ssc-lactate',
    title: 'Lactate in suspected sepsis',
    text:
      'Measure blood lactate when sepsis is suspected. A raised lactate is a marker of illness severity and of possible tissue hypoperfusion, ' +
      'though it can also rise for other reasons (liver dysfunction, adrenaline, some drugs). When lactate is elevated, guide resuscitation ' +
      'towards bringing it down and re-measure it, alongside bedside signs of perfusion such as capillary refill time.',
    tags: ['lactate_max', 'lactate', 'hyperlactatemia', 'hypoperfusion', 'sepsis', 'resuscitation'],
    source: SSC_2021,
  },
  {
    id: 'ssc-fluids',
    title: 'Initial fluid resuscitation for sepsis-induced hypoperfusion',
    text:
      'For sepsis-induced hypoperfusion or septic shock the guideline suggests at least 30 mL/kg of intravenous crystalloid within the first ' +
      'three hours, balanced crystalloids rather than saline, and reassessment of the response with dynamic measures rather than giving ' +
      'further fluid by default. A lactate of 4 mmol/L or more is a common trigger for this bundle.',
    tags: ['lactate_max', 'shock', 'fluid', 'crystalloid', 'resuscitation', 'hypotension'],
    source: SSC_2021,
  },
  {
    id: 'ssc-map-vasopressors',
    title: 'Blood pressure target and vasopressors',
    text:
      'In septic shock on vasopressors, an initial mean arterial pressure target of 65 mmHg is recommended over higher targets. ' +
      'Noradrenaline (norepinephrine) is the first-line vasopressor; vasopressin is added rather than escalating noradrenaline when the dose ' +
      'is already high. Persistent hypotension despite fluids defines the need for vasopressors.',
    tags: [
      'mbp_mean',
      'sbp_mean',
      'dbp_mean',
      'hypotension',
      'mean',
      'arterial',
      'pressure',
      'vasopressor',
      'norepinephrine',
      'shock',
    ],
    source: SSC_2021,
  },
  {
    id: 'sepsis3-definitions',
    title: 'Sepsis and septic shock (Sepsis-3)',
    text:
      'Sepsis is life-threatening organ dysfunction caused by a dysregulated host response to infection; organ dysfunction is an acute rise ' +
      'of 2 or more SOFA points. Septic shock is sepsis needing vasopressors to keep mean arterial pressure at 65 mmHg or more with a lactate ' +
      'above 2 mmol/L despite adequate fluids, and carries a hospital mortality above 40 %. The quick SOFA criteria (respiratory rate of 22/min ' +
      'or more, altered mentation, systolic pressure of 100 mmHg or less) flag patients outside the ICU at risk of a poor outcome.',
    tags: [
      'sepsis',
      'shock',
      'lactate_max',
      'mbp_mean',
      'resp_rate_mean',
      'sbp_mean',
      'gcs_min',
      'qsofa',
      'sofa',
      'organ',
      'dysfunction',
    ],
    source: SEPSIS_3,
  },
  {
    id: 'ssc-screening',
    title: 'Screening tools are not diagnoses',
    text:
      'The 2021 guideline recommends against using qSOFA alone as a single screening tool for sepsis or septic shock compared with SIRS, NEWS ' +
      'or MEWS: a positive screen prompts assessment, and a negative one does not rule sepsis out.',
    tags: [
      'qsofa',
      'screening',
      'sepsis',
      'resp_rate_mean',
      'sbp_mean',
      'heart_rate_mean',
      'temperature_mean',
    ],
    source: SSC_2021,
  },
  {
    id: 'kdigo-definition',
    title: 'Acute kidney injury: definition and staging',
    text:
      'AKI is a rise in serum creatinine of at least 0.3 mg/dL within 48 hours, or to 1.5 times baseline within seven days, or urine output ' +
      'below 0.5 mL/kg/h for six hours. Stage 3 is creatinine three times baseline or at least 4.0 mg/dL, renal replacement therapy, or urine ' +
      'output below 0.3 mL/kg/h for 24 hours or none for 12 hours. A single first-day creatinine cannot stage AKI without a baseline.',
    tags: [
      'creatinine_max',
      'urineoutput',
      'bun_max',
      'kidney',
      'renal',
      'aki',
      'oliguria',
      'creatinine',
      'urine',
      'output',
    ],
    source: KDIGO_AKI,
  },
  {
    id: 'kdigo-management',
    title: 'Acute kidney injury: supportive care',
    text:
      'For patients with or at risk of AKI: stop nephrotoxic drugs where possible, assess volume status and perfusion pressure, monitor ' +
      'creatinine and urine output, avoid hyperglycaemia, and consider alternatives to radiocontrast. Use isotonic crystalloids rather than ' +
      'colloids for volume expansion, and do not use diuretics to prevent or treat AKI except for volume overload.',
    tags: [
      'creatinine_max',
      'urineoutput',
      'bun_max',
      'potassium_max',
      'kidney',
      'aki',
      'nephrotoxic',
      'diuretics',
    ],
    source: KDIGO_AKI,
  },
  {
    id: 'hyperkalaemia',
    title: 'Acute hyperkalaemia',
    text:
      'A potassium of 6.5 mmol/L or more is severe and an emergency; 6.0–6.4 is moderate. Record a 12-lead ECG, give intravenous calcium when ' +
      'the ECG shows hyperkalaemic changes to protect the heart, shift potassium into cells with insulin and glucose (monitoring glucose), and ' +
      'find and treat the cause, often acute kidney injury.',
    tags: ['potassium_max', 'potassium', 'hyperkalemia', 'arrhythmia', 'kidney', 'ecg'],
    source: {
      citation:
        'UK Kidney Association (Renal Association). Clinical Practice Guidelines: Treatment of Acute Hyperkalaemia in Adults, 2020.',
      url: 'https://ukkidney.org/health-professionals/guidelines/treatment-acute-hyperkalaemia-adults',
    },
  },
  {
    id: 'gcs',
    title: 'Glasgow Coma Scale',
    text:
      'The GCS sums eye, verbal and motor responses from 3 to 15; a lower first-day minimum means a deeper impairment of consciousness. ' +
      'A score of 8 or less is widely taken as a reason to consider protecting the airway. In intubated or sedated patients the verbal score ' +
      'cannot be assessed, which is why HIMAS records that separately (gcs_unable).',
    tags: ['gcs_min', 'gcs_unable', 'glasgow', 'coma', 'consciousness', 'neurological', 'airway', 'sedation'],
    source: {
      citation:
        'Teasdale G, Jennett B. Assessment of coma and impaired consciousness: a practical scale. Lancet 1974;2(7872):81–84.',
      url: 'https://doi.org/10.1016/S0140-6736(74)91639-0',
    },
  },
  {
    id: 'sofa-organs',
    title: 'Organ dysfunction by SOFA',
    text:
      'SOFA scores six organ systems from 0 to 4. Coagulation: platelets below 150, 100, 50 and 20 × 10⁹/L score 1 to 4. Liver: bilirubin ' +
      '1.2–1.9, 2.0–5.9, 6.0–11.9 and 12 mg/dL or more score 1 to 4. Renal: creatinine from 1.2 mg/dL upwards or low urine output. ' +
      'Central nervous system: by GCS. Cardiovascular: by mean arterial pressure and vasopressor dose. Higher totals go with higher mortality.',
    tags: [
      'platelets_min',
      'bilirubin_total_max',
      'creatinine_max',
      'gcs_min',
      'mbp_mean',
      'sofa',
      'organ',
      'thrombocytopenia',
      'liver',
      'coagulation',
    ],
    source: SOFA,
  },
  {
    id: 'sirs',
    title: 'Systemic inflammatory response criteria',
    text:
      'The SIRS criteria are a heart rate above 90/min, a temperature above 38 °C or below 36 °C, a respiratory rate above 20/min, and a white ' +
      'cell count above 12 or below 4 × 10⁹/L. Two or more describe a systemic response that is common in the ICU and not specific to infection.',
    tags: [
      'heart_rate_mean',
      'temperature_mean',
      'resp_rate_mean',
      'wbc_max',
      'tachycardia',
      'fever',
      'hypothermia',
      'leukocytosis',
      'infection',
    ],
    source: {
      citation:
        'Bone RC, et al. Definitions for sepsis and organ failure and guidelines for the use of innovative therapies in sepsis (ACCP/SCCM Consensus Conference). Chest 1992;101(6):1644–1655.',
      url: 'https://doi.org/10.1378/chest.101.6.1644',
    },
  },
  {
    id: 'icu-fever',
    title: 'New fever in the ICU',
    text:
      'A temperature of 38.3 °C or more in an adult ICU patient warrants a clinical assessment for infectious and non-infectious causes ' +
      'rather than automatic tests; hypothermia can also accompany severe infection and is a poor prognostic sign.',
    tags: ['temperature_mean', 'fever', 'hypothermia', 'infection', 'temperature'],
    source: {
      citation:
        "O'Grady NP, et al. Society of Critical Care Medicine and the Infectious Diseases Society of America Guidelines for Evaluating New Fever in Adult Patients in the ICU. Crit Care Med 2023;51(11):1570–1586.",
    },
  },
  {
    id: 'oxygen-targets',
    title: 'Oxygen saturation targets',
    text:
      'For most acutely ill adults aim for an SpO₂ of 94–98 %, and 88–92 % for those at risk of hypercapnic respiratory failure. ' +
      'A persistently low saturation despite oxygen signals respiratory failure and needs escalation; more oxygen than needed is not harmless.',
    tags: ['spo2_mean', 'resp_rate_mean', 'oxygen', 'saturation', 'hypoxemia', 'respiratory'],
    source: {
      citation:
        "O'Driscoll BR, et al. BTS guideline for oxygen use in adults in healthcare and emergency settings. Thorax 2017;72(Suppl 1):i1–i90.",
      url: 'https://doi.org/10.1136/thoraxjnl-2016-209729',
    },
  },
  {
    id: 'glucose-control',
    title: 'Glucose control in critical illness',
    text:
      'Tight glucose control (81–108 mg/dL) increased mortality compared with a target of 180 mg/dL or less in the NICE-SUGAR trial. ' +
      'Start insulin for persistent glucose above 180 mg/dL and aim for about 140–180 mg/dL, avoiding hypoglycaemia.',
    tags: ['glucose_max', 'glucose', 'hyperglycemia', 'insulin', 'hypoglycemia'],
    source: {
      citation:
        'The NICE-SUGAR Study Investigators. Intensive versus conventional glucose control in critically ill patients. N Engl J Med 2009;360:1283–1297.',
      url: 'https://doi.org/10.1056/NEJMoa0810625',
    },
  },
  {
    id: 'transfusion-threshold',
    title: 'Red-cell transfusion threshold',
    text:
      'In critically ill adults without active bleeding or acute coronary ischaemia, a restrictive strategy that transfuses at a haemoglobin ' +
      'below 7 g/dL was at least as safe as a liberal one at 10 g/dL; the 2021 sepsis guideline takes the same restrictive threshold.',
    tags: ['hemoglobin_min', 'haemoglobin', 'anemia', 'transfusion'],
    source: {
      citation:
        'Hébert PC, et al. A multicenter, randomized, controlled clinical trial of transfusion requirements in critical care. N Engl J Med 1999;340:409–417.',
      url: 'https://doi.org/10.1056/NEJM199902113400601',
    },
  },
  {
    id: 'bicarbonate-acidosis',
    title: 'Metabolic acidosis and bicarbonate therapy',
    text:
      'A low serum bicarbonate signals metabolic acidosis, in sepsis often from lactate or kidney injury. The 2021 sepsis guideline suggests ' +
      'against sodium bicarbonate for hypoperfusion-related lactic acidaemia with pH of 7.2 or more, and suggests it for severe metabolic ' +
      'acidaemia (pH 7.2 or less) with moderate or severe AKI.',
    tags: ['bicarbonate_min', 'bicarbonate', 'acidosis', 'lactate_max', 'kidney', 'aki'],
    source: SSC_2021,
  },
  {
    id: 'prediction-models',
    title: 'Using a risk prediction model',
    text:
      'A prediction model estimates risk for a population like the one it was developed on; it supports and does not replace clinical ' +
      'judgement. Check its discrimination and calibration in your own population, and treat missing or implausible inputs with care because ' +
      'they change the estimate.',
    tags: ['prediction', 'model', 'calibration', 'risk', 'missing', 'validation'],
    source: {
      citation:
        'Collins GS, Reitsma JB, Altman DG, Moons KGM. Transparent reporting of a multivariable prediction model for individual prognosis or diagnosis (TRIPOD). BMJ 2015;350:g7594.',
      url: 'https://doi.org/10.1136/bmj.g7594',
    },
  },
];
