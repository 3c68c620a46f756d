import type { SeededRandom } from '../random/seeded-random';
import { CARE_UNIT_PROFILES, LATENT_FEATURES } from './feature-model';
import { CARE_UNIT_MIMIC_NAMES, CARE_UNITS, type CareUnit, type NumericFeature } from './features';
import { bernoulli, categorical, clamp, dirichlet, normal } from './sampling';
import type { SiteContext } from './stay-model';

/**
 * Hospital partition presets of CLINICAL_DATA.md §5.4: who the hospitals are, how large, which
 * care units they run and how they differ (case mix μ_h, quality q_h, lab drift, testing practice).
 */
export type PresetName = 'archetypes' | 'eicu-like' | 'mimic-careunit';
export const PRESET_NAMES: readonly PresetName[] = ['archetypes', 'eicu-like', 'mimic-careunit'];

export interface HospitalProfile {
  /** Stable id, [a-z0-9-]. */
  hospitalId: string;
  name: string;
  description: string;
  /** Stays before rescaling to a requested total. */
  nominalSize: number;
  /** Probability of each care unit, in CARE_UNITS order. */
  unitMix: readonly number[];
  site: SiteContext;
}

export interface PresetDefinition {
  defaultHospitals: number;
  minHospitals: number;
  maxHospitals: number;
  /** Hospital profiles; `random` is the preset's own stream (one fork per hospital inside). */
  build(random: SeededRandom, hospitals: number): HospitalProfile[];
}

/** b_hj: ln of each lab's multiplicative calibration drift at one hospital (§5.1 step 1). */
function drawLabDrift(random: SeededRandom): Partial<Record<NumericFeature, number>> {
  const drift: Partial<Record<NumericFeature, number>> = {};
  for (const feature of LATENT_FEATURES) {
    if (feature.labDriftSd > 0) drift[feature.name] = normal(random, 0, feature.labDriftSd);
  }
  return drift;
}

function mixOf(shares: Partial<Record<CareUnit, number>>): number[] {
  const raw = CARE_UNITS.map((unit) => shares[unit] ?? 0);
  const total = raw.reduce((sum, x) => sum + x, 0);
  return raw.map((x) => x / total);
}

const BASE_MIX = mixOf(Object.fromEntries(CARE_UNITS.map((unit) => [unit, CARE_UNIT_PROFILES[unit].share])));

function describeMix(mix: readonly number[]): string {
  return CARE_UNITS.map((unit, i) => ({ unit, share: mix[i] }))
    .filter(({ share }) => share >= 0.05)
    .sort((a, b) => b.share - a.share)
    .map(({ unit, share }) => `${unit} ${Math.round(share * 100)} %`)
    .join(', ');
}

interface Archetype {
  id: string;
  name: string;
  summary: string;
  nominalSize: number;
  mix: Partial<Record<CareUnit, number>>;
  severityShift: number;
  qualityOffset: number;
  ageShiftYears: number;
  testingIntensityLogit: number;
}

/**
 * The hand-built sites of §5.4 `archetypes`, in the order `hospitals: N` takes them. The default
 * three (2000/1600/900 stays) give a pooled prevalence of about 11 % and train fast.
 */
const ARCHETYPES: readonly Archetype[] = [
  {
    id: 'h1-academic',
    name: 'Academic tertiary centre',
    summary: 'large teaching hospital, MICU-heavy referral case mix, mortality about 14 %',
    nominalSize: 2000,
    mix: { MICU: 0.4, 'MICU/SICU': 0.15, CVICU: 0.08, SICU: 0.15, TSICU: 0.08, CCU: 0.1, Neuro: 0.04 },
    severityShift: 0.12,
    qualityOffset: -0.05, // teaching hospitals: SMR 0.95 (§3.4)
    ageShiftYears: 0,
    testingIntensityLogit: -0.2,
  },
  {
    id: 'h2-cardiac',
    name: 'Cardiac-surgery centre',
    summary: 'elective cardiac surgery, CVICU about 70 % with mortality about 4 %',
    nominalSize: 1600,
    mix: { CVICU: 0.7, CCU: 0.18, 'MICU/SICU': 0.05, SICU: 0.04, MICU: 0.03 },
    severityShift: -0.05,
    qualityOffset: 0,
    ageShiftYears: 0,
    testingIntensityLogit: -0.3, // post-bypass blood gases include lactate
  },
  {
    id: 'h3-community',
    name: 'Community med-surg hospital',
    summary: 'small non-teaching mixed ICU, lactate and bilirubin rarely ordered',
    nominalSize: 900,
    mix: { 'MICU/SICU': 0.55, MICU: 0.12, CCU: 0.13, SICU: 0.1, CVICU: 0.05, TSICU: 0.03, Neuro: 0.02 },
    severityShift: 0,
    qualityOffset: 0.15, // non-teaching: SMR 1.04 (§3.4)
    ageShiftYears: 2,
    testingIntensityLogit: 1.0,
  },
  {
    id: 'h4-trauma',
    name: 'Level-I trauma centre',
    summary: 'TSICU about 50 %, young patients',
    nominalSize: 1400,
    mix: { TSICU: 0.5, SICU: 0.2, 'MICU/SICU': 0.1, Neuro: 0.1, MICU: 0.05, CCU: 0.03, CVICU: 0.02 },
    severityShift: 0,
    qualityOffset: 0,
    ageShiftYears: -8,
    testingIntensityLogit: 0,
  },
  {
    id: 'h5-neuro',
    name: 'Neuroscience centre',
    summary: 'neuro ICU about 55 %: low GCS from brain injury rather than systemic illness',
    nominalSize: 800,
    mix: { Neuro: 0.55, SICU: 0.15, 'MICU/SICU': 0.1, MICU: 0.1, TSICU: 0.05, CCU: 0.05 },
    severityShift: 0,
    qualityOffset: 0,
    ageShiftYears: 0,
    testingIntensityLogit: 0.3,
  },
];

const archetypes: PresetDefinition = {
  defaultHospitals: 3,
  minHospitals: 1,
  maxHospitals: ARCHETYPES.length,
  build(random, hospitals) {
    return ARCHETYPES.slice(0, hospitals).map((a) => {
      const unitMix = mixOf(a.mix);
      return {
        hospitalId: a.id,
        name: a.name,
        description: `${a.summary}; units: ${describeMix(unitMix)}`,
        nominalSize: a.nominalSize,
        unitMix,
        site: {
          severityShift: a.severityShift,
          qualityOffset: a.qualityOffset,
          ageShiftYears: a.ageShiftYears,
          labDriftLog: drawLabDrift(random.fork(`lab-drift:${a.id}`)),
          practice: { testingIntensityLogit: a.testingIntensityLogit, urineOutputInterfaceMissing: false },
        },
      };
    });
  },
};

/** §4 eICU hospital characteristics used to describe (and, for teaching, shape) eICU-like sites. */
const EICU_REGIONS = ['Midwest', 'South', 'West', 'Northeast', 'region unknown'] as const;
const EICU_REGION_WEIGHTS = [0.337, 0.269, 0.202, 0.072, 0.12];
const EICU_TEACHING_PROBABILITY = 0.082;
/** §4: sizes LogNormal(ln 550, 1.0) clipped to [80, 7500]. */
const EICU_SIZE = { logMedian: Math.log(550), logSd: 1.0, min: 80, max: 7500 };
/** Probability that a site has no urine-output interface (§5.1 step 1). */
const EICU_NO_URINE_INTERFACE_PROBABILITY = 0.05;
/** Teaching sites: MICU/SICU/TSICU-heavy mixes and larger (§5.4). */
const TEACHING_MIX_TILT: Partial<Record<CareUnit, number>> = { MICU: 1.5, SICU: 1.3, TSICU: 1.6 };

function bedsFor(size: number): string {
  if (size < 300) return '<100 beds';
  if (size < 900) return '100-249 beds';
  if (size < 2500) return '250-500 beds';
  return '>500 beds';
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
}

const eicuLike: PresetDefinition = {
  defaultHospitals: 20,
  minHospitals: 2,
  maxHospitals: 300,
  build(random, hospitals) {
    const width = Math.max(2, String(hospitals).length);
    const sites = Array.from({ length: hospitals }, (_, i): HospitalProfile => {
      const hospitalId = `h${String(i + 1).padStart(width, '0')}`;
      // One stream per site, so site k is the same whatever the number of sites.
      const r = random.fork(`site:${i + 1}`);
      const teaching = bernoulli(r, EICU_TEACHING_PROBABILITY);
      const size = clamp(
        Math.round(Math.exp(normal(r, EICU_SIZE.logMedian, EICU_SIZE.logSd)) * (teaching ? 2 : 1)),
        EICU_SIZE.min,
        EICU_SIZE.max,
      );
      const region = EICU_REGIONS[categorical(r, EICU_REGION_WEIGHTS)];
      const tilted = mixOf(
        Object.fromEntries(
          CARE_UNITS.map((unit, u) => [unit, BASE_MIX[u] * (teaching ? (TEACHING_MIX_TILT[unit] ?? 1) : 1)]),
        ),
      );
      const unitMix = dirichlet(
        r,
        tilted.map((share) => 8 * share),
      );
      const severityShift = normal(r, 0, 0.2);
      const qualityOffset = normal(r, 0, 0.1);
      const testingIntensityLogit = normal(r, 0, 0.7);
      const urineOutputInterfaceMissing = bernoulli(r, EICU_NO_URINE_INTERFACE_PROBABILITY);
      const labDriftLog = drawLabDrift(r);
      const traits = [
        bedsFor(size),
        teaching ? 'teaching' : 'non-teaching',
        region,
        `case-mix shift ${signed(severityShift)}`,
        `quality offset ${signed(qualityOffset)}`,
        `optional-test missingness ${signed(testingIntensityLogit)} logit`,
        ...(urineOutputInterfaceMissing ? ['no urine-output interface'] : []),
      ];
      return {
        hospitalId,
        name: `eICU-like site ${hospitalId}`,
        description: `${traits.join(', ')}; units: ${describeMix(unitMix)}`,
        nominalSize: size,
        unitMix,
        site: {
          severityShift,
          qualityOffset,
          ageShiftYears: 0,
          labDriftLog,
          practice: { testingIntensityLogit, urineOutputInterfaceMissing },
        },
      };
    });
    return centreSiteEffects(sites);
  },
};

/**
 * μ_h and q_h are deviations from the pooled population, so they are centred (stay-weighted):
 * otherwise one large site's draw moves the pooled prevalence by several points, whereas §3.4
 * describes heterogeneity around a fixed overall mortality. Descriptions keep the drawn values.
 */
function centreSiteEffects(sites: HospitalProfile[]): HospitalProfile[] {
  const total = sites.reduce((sum, s) => sum + s.nominalSize, 0);
  const mean = (pick: (s: HospitalProfile) => number): number =>
    sites.reduce((sum, s) => sum + s.nominalSize * pick(s), 0) / total;
  const severity = mean((s) => s.site.severityShift);
  const quality = mean((s) => s.site.qualityOffset);
  return sites.map((s) => ({
    ...s,
    site: {
      ...s.site,
      severityShift: s.site.severityShift - severity,
      qualityOffset: s.site.qualityOffset - quality,
    },
  }));
}

/** Default total for mimic-careunit: enough stays that the smallest unit (Neuro, 7 %) has ~500. */
const MIMIC_CAREUNIT_DEFAULT_PATIENTS = 7000;

const mimicCareunit: PresetDefinition = {
  defaultHospitals: CARE_UNITS.length,
  minHospitals: CARE_UNITS.length,
  maxHospitals: CARE_UNITS.length,
  // One hospital (MIMIC-IV is one centre) split by unit: same lab, same practice, no site effects.
  build(_random, _hospitals) {
    return CARE_UNITS.map((unit, u) => ({
      hospitalId: unit.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      name: `${unit} client`,
      description: `every stay whose first care unit is ${CARE_UNIT_MIMIC_NAMES[unit].join(' / ')}`,
      nominalSize: Math.round(MIMIC_CAREUNIT_DEFAULT_PATIENTS * CARE_UNIT_PROFILES[unit].share),
      unitMix: CARE_UNITS.map((_, v) => (v === u ? 1 : 0)),
      site: {
        severityShift: 0,
        qualityOffset: 0,
        ageShiftYears: 0,
        labDriftLog: {},
        practice: { testingIntensityLogit: 0, urineOutputInterfaceMissing: false },
      },
    }));
  },
};

export const PRESETS: Readonly<Record<PresetName, PresetDefinition>> = {
  archetypes,
  'eicu-like': eicuLike,
  'mimic-careunit': mimicCareunit,
};
