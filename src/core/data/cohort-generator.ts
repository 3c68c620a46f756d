import { SeededRandom } from '../random/seeded-random';
import { CohortOptionsError } from './errors';
import { CARE_UNITS, type CohortRecord } from './features';
import { PRESET_NAMES, PRESETS, type PresetName } from './presets';
import { apportion, categorical, clamp, permutation, sigmoid } from './sampling';
import { drawLatentStay, outcomeLogitWithoutUnitOffset, realiseFeatures } from './stay-model';
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
}

export interface HospitalCohort {
  /** Stable id, [a-z0-9-] (e.g. 'h1-academic', 'h07', 'cvicu'). */
  hospitalId: string;
  name: string;
  description: string;
  train: CohortRecord[];
  test: CohortRecord[];
}

export interface SyntheticCohort {
  preset: PresetName;
  seed: number;
  hospitals: HospitalCohort[];
}

/** Each hospital keeps enough stays that both splits are non-empty. */
export const MIN_STAYS_PER_HOSPITAL = 20;
const MAX_PATIENTS = 2_000_000;
/** MIMIC-IV stay_id values are 8-digit numbers starting with 3 (§2.2). */
const FIRST_STAY_ID = 30000001;

const OPTION_FIELDS = ['preset', 'hospitals', 'patients', 'seed', 'testFraction'];

interface ResolvedOptions {
  preset: PresetName;
  hospitals: number;
  patients: number | undefined;
  seed: number;
  testFraction: number;
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
  return { preset, hospitals, patients, seed, testFraction };
}

export function generateCohort(options: GenerateCohortOptions = {}): SyntheticCohort {
  const { preset, hospitals, patients, seed, testFraction } = resolveOptions(options);
  const root = new SeededRandom(seed);
  const profiles = PRESETS[preset].build(root.fork(`preset:${preset}`), hospitals);
  const nominal = profiles.map((p) => p.nominalSize);
  const sizes = patients === undefined ? nominal : apportion(nominal, patients, MIN_STAYS_PER_HOSPITAL);

  let nextStayId = FIRST_STAY_ID;
  const cohorts = profiles.map((profile, h): HospitalCohort => {
    // Streams per hospital and purpose: resizing one hospital or the split never reshuffles another.
    const stays = root.fork(`stays:${profile.hospitalId}`);
    const records: CohortRecord[] = [];
    for (let i = 0; i < sizes[h]; i++) {
      const unit = CARE_UNITS[categorical(stays, profile.unitMix)];
      const latent = drawLatentStay(stays, unit, profile.site);
      const risk = sigmoid(outcomeLogitWithoutUnitOffset(latent, profile.site) + CARE_UNIT_OFFSETS[unit]);
      const label = stays.nextDouble() < risk ? 1 : 0;
      records.push({
        stay_id: String(nextStayId++),
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
    };
  });
  return { preset, seed, hospitals: cohorts };
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
