import { z } from 'zod';
import { LATENT_FEATURES } from '../data/feature-model';
import { NUMERIC_FEATURES, parseCareUnit, type CareUnit, type CohortRecord } from '../data/features';

/**
 * One ICU stay as a clinician's system sends it for a prediction: the first-24 h feature columns of
 * src/core/data/features.ts (SQL names, null or absent = not measured) and first_careunit (a short
 * code or the MIMIC-IV long name). Unknown keys are rejected, so a misspelt column ('lactate' for
 * 'lactate_max') is an error naming the key rather than a silently missing value.
 */
const featureValue = z.number().nullable().optional();

export const StayInputSchema = z
  .object({
    /** The caller's reference for the stay; echoed back, never sent to a language model. */
    stay_id: z.string().min(1).max(200).optional(),
    first_careunit: z.string().transform((text, ctx) => {
      const unit = parseCareUnit(text);
      if (!unit) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown care unit '${text}'; expected one of MICU, MICU/SICU, CVICU, SICU, TSICU, CCU, Neuro or a MIMIC-IV first_careunit name`,
        });
        return z.NEVER;
      }
      return unit;
    }),
    ...Object.fromEntries(NUMERIC_FEATURES.map((name) => [name, featureValue])),
  })
  .strict();

export type StayInput = z.input<typeof StayInputSchema>;

/** A plausible-value interval, inclusive; `integer` for scores and 0/1 indicators. */
export interface PlausibleRange {
  min: number;
  max: number;
  integer?: boolean;
  unit: string;
}

const UNITS: Record<string, string> = {
  age: 'years',
  is_male: '0/1',
  heart_rate_mean: 'beats/min',
  sbp_mean: 'mmHg',
  dbp_mean: 'mmHg',
  mbp_mean: 'mmHg',
  resp_rate_mean: 'breaths/min',
  temperature_mean: '°C',
  spo2_mean: '%',
  gcs_min: 'points',
  gcs_unable: '0/1',
  creatinine_max: 'mg/dL',
  bun_max: 'mg/dL',
  sodium_max: 'mmol/L',
  potassium_max: 'mmol/L',
  bicarbonate_min: 'mmol/L',
  glucose_max: 'mg/dL',
  hemoglobin_min: 'g/dL',
  wbc_max: '10⁹/L',
  platelets_min: '10⁹/L',
  lactate_max: 'mmol/L',
  bilirubin_total_max: 'mg/dL',
  urineoutput: 'mL/24 h',
};

/**
 * Physiologic plausibility per feature. The continuous ones are the generator's clip bounds
 * (feature-model.ts `validRange`: the mimic3-benchmarks valid ranges and mimic-code filters of
 * CLINICAL_DATA.md §1.4 D), so what the model was trained on and what it accepts agree. Age: the
 * cohort excludes age < 15 (§1.2) and MIMIC-IV caps ages at 91, but other EHRs do not, so up to 120.
 * A value outside is almost always a unit or entry error (temperature in °F, creatinine in µmol/L).
 */
export const PLAUSIBLE_RANGES: Readonly<Record<string, PlausibleRange>> = {
  age: { min: 15, max: 120, unit: UNITS.age },
  is_male: { min: 0, max: 1, integer: true, unit: UNITS.is_male },
  gcs_unable: { min: 0, max: 1, integer: true, unit: UNITS.gcs_unable },
  ...Object.fromEntries(
    LATENT_FEATURES.map((f) => [
      f.name,
      { min: f.validRange[0], max: f.validRange[1], integer: f.name === 'gcs_min', unit: UNITS[f.name] },
    ]),
  ),
};

/** A value that was not used, and why. */
export interface RangeFlag {
  feature: string;
  value: number;
  range: PlausibleRange;
  message: string;
}

export interface ValidatedStay {
  /** The stay as the preprocessor reads it; out-of-range values are null (imputed like missing). */
  record: CohortRecord;
  flags: RangeFlag[];
  /** Features not measured (null or absent), before the out-of-range ones were added. */
  missing: string[];
  careUnit: CareUnit;
  /** The caller's stay_id, or null when none was sent. */
  stayId: string | null;
}

/**
 * Parses a stay (throws the ZodError, whose issues name each bad key) and screens every value
 * against PLAUSIBLE_RANGES: an implausible value is flagged and treated as missing, never scored.
 */
export function validateStay(input: unknown): ValidatedStay {
  const parsed = StayInputSchema.parse(input) as Record<string, unknown> & {
    stay_id?: string;
    first_careunit: CareUnit;
  };
  const { features, flags, missing } = screenFeatures(parsed as Record<string, number | null | undefined>);
  return {
    record: {
      stay_id: parsed.stay_id ?? 'stay',
      first_careunit: parsed.first_careunit,
      label_inhospital_mortality: 0,
      features,
    },
    flags,
    missing,
    careUnit: parsed.first_careunit,
    stayId: parsed.stay_id ?? null,
  };
}

/**
 * Screens first-24 h values against PLAUSIBLE_RANGES (one stay from the API, or each row of a
 * batch): an implausible value is flagged and becomes null, to be imputed like a missing one.
 */
export function screenFeatures(values: Readonly<Record<string, number | null | undefined>>): {
  features: Record<string, number | null>;
  flags: RangeFlag[];
  /** Features not measured (null or absent), not counting the implausible ones. */
  missing: string[];
} {
  const features: Record<string, number | null> = {};
  const flags: RangeFlag[] = [];
  const missing: string[] = [];
  for (const name of NUMERIC_FEATURES) {
    const value = values[name];
    if (value === null || value === undefined) {
      features[name] = null;
      missing.push(name);
      continue;
    }
    const range = PLAUSIBLE_RANGES[name];
    const outside = value < range.min || value > range.max || (range.integer && !Number.isInteger(value));
    if (outside) {
      features[name] = null;
      flags.push({ feature: name, value, range, message: rangeMessage(name, value, range) });
    } else {
      features[name] = value;
    }
  }
  return { features, flags, missing };
}

function rangeMessage(name: string, value: number, range: PlausibleRange): string {
  const expected = range.integer
    ? `an integer in [${range.min}, ${range.max}]`
    : `within [${range.min}, ${range.max}] ${range.unit}`;
  return `${name} = ${value} is not ${expected}; treated as missing (check the unit or the entry)`;
}

/** A ZodError of StayInputSchema as {path, message} pairs a caller can act on. */
export function stayInputIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.join('.') || '(body)',
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.join(', ')}: expected the first-24 h feature columns, first_careunit and stay_id`
        : issue.message,
  }));
}
