import { SeededRandom } from '../random/seeded-random';
import { CohortOptionsError } from './errors';
import { dayToIsoDate, isoDateToDay, type StayEncounter } from './encounters';
import { CARE_UNITS, type CohortRecord } from './features';
import { drawOutbreakStay, type OutbreakOptions, poisson } from './outbreak';
import { PRESET_NAMES, PRESETS, type PresetName } from './presets';
import { apportion, categorical, clamp, permutation, sigmoid } from './sampling';
import {
  drawLatentStay,
  type LatentStay,
  outcomeLogitWithoutUnitOffset,
  realiseFeatures,
} from './stay-model';
import {
  DEFAULT_TREATMENT_LOG_ODDS_RATIO,
  drawTreatmentGivenOutcome,
  VASOPRESSOR_MODEL,
  vasopressorPropensity,
} from './treatment-model';
import { CARE_UNIT_OFFSETS } from './unit-offsets';

/**
 * The synthetic cohort generator (CLINICAL_DATA.md §5): hospitals from a preset, stays from the
 * latent-severity model, a seeded per-hospital train/test split. Same options, same cohort.
 */

export interface GenerateCohortOptions {
  /** Default 'archetypes'. */
  preset?: PresetName;
  /** archetypes: 1–5 (default 3); eicu-like: 2–300 (default 20); mimic-careunit: 7. */
  hospitals?: number;
  /** Total stays over all hospitals; default: the preset's natural sizes. */
  patients?: number;
  /** Default 42. */
  seed?: number;
  /** Share of each hospital's stays held out for testing; default 0.25. */
  testFraction?: number;
  /** First day of the admission period, ISO 'YYYY-MM-DD'; default '2022-01-03' (a Monday). */
  admissionStart?: string;
  /** Length of the admission period in days; default 730 (two years). */
  admissionDays?: number;
  /** True log-OR of day-1 vasopressors on mortality given the latent state; default −0.3. */
  treatmentLogOddsRatio?: number;
  /** Inject extra sepsis-like stays at one hospital over some weeks (surveillance tests). */
  outbreak?: OutbreakOptions;
}

export interface HospitalCohort {
  /** Stable id, [a-z0-9-] (e.g. 'h1-academic', 'h07', 'cvicu'). */
  hospitalId: string;
  name: string;
  description: string;
  train: CohortRecord[];
  test: CohortRecord[];
  /** Admission date and day-1 vasopressors of every stay, by stay_id (attach with withEncounters). */
  encounters: Record<string, StayEncounter>;
}

/** What the generator knows that an analysis must estimate: the ground truth for agent tests. */
export interface CohortTruth {
  admissionStart: string;
  admissionDays: number;
  treatment: {
    column: 'vasopressor_day1';
    /** β added to the outcome logit of a treated stay, given its latent state. */
    logOddsRatio: number;
    propensityModel: typeof VASOPRESSOR_MODEL;
  };
  outbreak: (OutbreakOptions & { injectedStays: number; stayIds: string[] }) | null;
}

export interface SyntheticCohort {
  preset: PresetName;
  seed: number;
  hospitals: HospitalCohort[];
  truth: CohortTruth;
}

/** Each hospital keeps enough stays that both splits are non-empty. */
export const MIN_STAYS_PER_HOSPITAL = 20;
const MAX_PATIENTS = 2_000_000;
/** MIMIC-IV stay_id values are 8-digit numbers starting with 3 (§2.2). */
const FIRST_STAY_ID = 30000001;

// New fields go at the end: error messages list them in this order.
const OPTION_FIELDS = [
  'preset',
  'hospitals',
  'patients',
  'seed',
  'testFraction',
  'admissionStart',
  'admissionDays',
  'treatmentLogOddsRatio',
  'outbreak',
];

interface ResolvedOptions {
  preset: PresetName;
  hospitals: number;
  patients: number | undefined;
  seed: number;
  testFraction: number;
  admissionStart: string;
  admissionDays: number;
  treatmentLogOddsRatio: number;
  outbreak: OutbreakOptions | null;
}

function resolveOptions(options: GenerateCohortOptions): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!OPTION_FIELDS.includes(key)) {
      throw new CohortOptionsError(
        key,
        (options as Record<string, unknown>)[key],
        `fields ${OPTION_FIELDS.join(', ')}`,
      );
    }
  }
  const preset = options.preset ?? 'archetypes';
  if (!PRESET_NAMES.includes(preset)) {
    throw new CohortOptionsError('preset', preset, `one of ${PRESET_NAMES.map((p) => `'${p}'`).join(', ')}`);
  }
  const definition = PRESETS[preset];
  const hospitals = options.hospitals ?? definition.defaultHospitals;
  if (
    !Number.isInteger(hospitals) ||
    hospitals < definition.minHospitals ||
    hospitals > definition.maxHospitals
  ) {
    const range =
      definition.minHospitals === definition.maxHospitals
        ? `exactly ${definition.minHospitals} (one client per care unit) or absent`
        : `an integer from ${definition.minHospitals} to ${definition.maxHospitals}`;
    throw new CohortOptionsError('hospitals', options.hospitals, `${range} for preset '${preset}'`);
  }
  const minPatients = MIN_STAYS_PER_HOSPITAL * hospitals;
  const patients = options.patients;
  if (
    patients !== undefined &&
    (!Number.isInteger(patients) || patients < minPatients || patients > MAX_PATIENTS)
  ) {
    throw new CohortOptionsError(
      'patients',
      patients,
      `an integer from ${minPatients} (${MIN_STAYS_PER_HOSPITAL} stays per hospital × ${hospitals}) to ${MAX_PATIENTS}`,
    );
  }
  const seed = options.seed ?? 42;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new CohortOptionsError('seed', seed, 'an integer from 0 to 4294967295');
  }
  const testFraction = options.testFraction ?? 0.25;
  if (typeof testFraction !== 'number' || !(testFraction > 0 && testFraction < 1)) {
    throw new CohortOptionsError('testFraction', testFraction, 'a number strictly between 0 and 1');
  }
  const admissionStart = options.admissionStart ?? '2022-01-03';
  try {
    isoDateToDay(admissionStart);
  } catch {
    throw new CohortOptionsError('admissionStart', admissionStart, "an ISO date 'YYYY-MM-DD'");
  }
  const admissionDays = options.admissionDays ?? 730;
  if (!Number.isInteger(admissionDays) || admissionDays < 7 || admissionDays > 36_500) {
    throw new CohortOptionsError('admissionDays', admissionDays, 'an integer from 7 to 36500');
  }
  const treatmentLogOddsRatio = options.treatmentLogOddsRatio ?? DEFAULT_TREATMENT_LOG_ODDS_RATIO;
  if (typeof treatmentLogOddsRatio !== 'number' || !(Math.abs(treatmentLogOddsRatio) <= 5)) {
    throw new CohortOptionsError('treatmentLogOddsRatio', treatmentLogOddsRatio, 'a number from -5 to 5');
  }
  const outbreak = options.outbreak ?? null;
  if (outbreak !== null) {
    const weeks = Math.floor(admissionDays / 7);
    const ok =
      typeof outbreak === 'object' &&
      typeof outbreak.hospitalId === 'string' &&
      Number.isInteger(outbreak.startWeek) &&
      Number.isInteger(outbreak.weeks) &&
      outbreak.startWeek >= 0 &&
      outbreak.weeks >= 1 &&
      outbreak.startWeek + outbreak.weeks <= weeks &&
      typeof outbreak.extraRate === 'number' &&
      outbreak.extraRate >= 0 &&
      outbreak.extraRate <= 1000;
    if (!ok) {
      throw new CohortOptionsError(
        'outbreak',
        outbreak,
        `{ hospitalId, startWeek ≥ 0, weeks ≥ 1 with startWeek + weeks ≤ ${weeks}, extraRate 0–1000 stays/week }`,
      );
    }
  }
  return {
    preset,
    hospitals,
    patients,
    seed,
    testFraction,
    admissionStart,
    admissionDays,
    treatmentLogOddsRatio,
    outbreak,
  };
}

export function generateCohort(options: GenerateCohortOptions = {}): SyntheticCohort {
  const resolved = resolveOptions(options);
  const { preset, hospitals, patients, seed, testFraction } = resolved;
  const root = new SeededRandom(seed);
  const profiles = PRESETS[preset].build(root.fork(`preset:${preset}`), hospitals);
  const nominal = profiles.map((p) => p.nominalSize);
  const sizes = patients === undefined ? nominal : apportion(nominal, patients, MIN_STAYS_PER_HOSPITAL);
  if (resolved.outbreak && !profiles.some((p) => p.hospitalId === resolved.outbreak!.hospitalId)) {
    throw new CohortOptionsError(
      'outbreak',
      resolved.outbreak,
      `a hospitalId of this cohort (${profiles.map((p) => p.hospitalId).join(', ')})`,
    );
  }
  const startDay = isoDateToDay(resolved.admissionStart);
  const encounterOf = (
    admission: SeededRandom,
    treatment: SeededRandom,
    latent: LatentStay,
    risk: number,
    label: 0 | 1,
    day?: number,
  ): StayEncounter => ({
    admittime: dayToIsoDate(startDay + (day ?? Math.floor(admission.nextDouble() * resolved.admissionDays))),
    vasopressor_day1: drawTreatmentGivenOutcome(
      treatment,
      vasopressorPropensity(latent),
      risk,
      label,
      resolved.treatmentLogOddsRatio,
    ),
  });

  let nextStayId = FIRST_STAY_ID;
  const cohorts = profiles.map((profile, h): HospitalCohort => {
    // Streams per hospital and purpose: resizing one hospital or the split never reshuffles another.
    const stays = root.fork(`stays:${profile.hospitalId}`);
    // New variables come from new streams, so the features and labels of a seed never change.
    const admission = root.fork(`admission:${profile.hospitalId}`);
    const treatment = root.fork(`treatment:${profile.hospitalId}`);
    const encounters: Record<string, StayEncounter> = {};
    const records: CohortRecord[] = [];
    for (let i = 0; i < sizes[h]; i++) {
      const unit = CARE_UNITS[categorical(stays, profile.unitMix)];
      const latent = drawLatentStay(stays, unit, profile.site);
      const risk = sigmoid(outcomeLogitWithoutUnitOffset(latent, profile.site) + CARE_UNIT_OFFSETS[unit]);
      const label = stays.nextDouble() < risk ? 1 : 0;
      const stayId = String(nextStayId++);
      encounters[stayId] = encounterOf(admission, treatment, latent, risk, label);
      records.push({
        stay_id: stayId,
        first_careunit: unit,
        label_inhospital_mortality: label,
        features: realiseFeatures(stays, latent, profile.site),
      });
    }
    const { train, test } = splitStays(root.fork(`split:${profile.hospitalId}`), records, testFraction);
    return {
      hospitalId: profile.hospitalId,
      name: profile.name,
      description: profile.description,
      train,
      test,
      encounters,
    };
  });

  const outbreak = resolved.outbreak;
  const outbreakStayIds: string[] = [];
  if (outbreak) {
    // Outbreak stays get ids after every regular stay, so regular ids do not move.
    const h = profiles.findIndex((p) => p.hospitalId === outbreak.hospitalId);
    const profile = profiles[h];
    const random = root.fork(`outbreak:${profile.hospitalId}`);
    const records: CohortRecord[] = [];
    for (let week = outbreak.startWeek; week < outbreak.startWeek + outbreak.weeks; week++) {
      const cases = poisson(random, outbreak.extraRate);
      for (let c = 0; c < cases; c++) {
        const { unit, latent, features } = drawOutbreakStay(random, profile.unitMix, profile.site);
        const risk = sigmoid(outcomeLogitWithoutUnitOffset(latent, profile.site) + CARE_UNIT_OFFSETS[unit]);
        const label = random.nextDouble() < risk ? 1 : 0;
        const stayId = String(nextStayId++);
        const day = week * 7 + Math.floor(random.nextDouble() * 7);
        cohorts[h].encounters[stayId] = encounterOf(random, random, latent, risk, label, day);
        records.push({ stay_id: stayId, first_careunit: unit, label_inhospital_mortality: label, features });
        outbreakStayIds.push(stayId);
      }
    }
    if (records.length > 0) {
      const { train, test } =
        records.length === 1
          ? { train: records, test: [] }
          : splitStays(root.fork(`outbreak-split:${profile.hospitalId}`), records, testFraction);
      cohorts[h].train.push(...train);
      cohorts[h].test.push(...test);
    }
  }

  const truth: CohortTruth = {
    admissionStart: resolved.admissionStart,
    admissionDays: resolved.admissionDays,
    treatment: {
      column: 'vasopressor_day1',
      logOddsRatio: resolved.treatmentLogOddsRatio,
      propensityModel: VASOPRESSOR_MODEL,
    },
    outbreak: outbreak
      ? { ...outbreak, injectedStays: outbreakStayIds.length, stayIds: outbreakStayIds }
      : null,
  };
  return { preset, seed, hospitals: cohorts, truth };
}

/** A seeded random test share of a hospital's stays; both parts keep the original order. */
function splitStays(
  random: SeededRandom,
  records: CohortRecord[],
  testFraction: number,
): { train: CohortRecord[]; test: CohortRecord[] } {
  const n = records.length;
  const testCount = clamp(Math.round(n * testFraction), 1, n - 1);
  const inTest = new Uint8Array(n);
  for (const index of permutation(random, n).slice(0, testCount)) inTest[index] = 1;
  return {
    train: records.filter((_, i) => inTest[i] === 0),
    test: records.filter((_, i) => inTest[i] === 1),
  };
}
