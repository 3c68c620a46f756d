import type { LayersModel } from '@tensorflow/tfjs';
import type { PrivacyGuarantee } from '../../../schemas/privacy';
import { careUnitColumn, transformRecords, type Preprocessor } from '../data/preprocessing';
import { attribute, type AttributionMethod } from './attribution';
import { clinicalFindings, type ClinicalFinding } from './clinical-findings';
import {
  narrativeRequest,
  templateNarrative,
  type Narrative,
  type NarrativeFacts,
  type NarrativePrompt,
} from './clinical-narrative';
import { GuidelineIndex, type QueryTerm, type RetrievedPassage } from './guideline-retrieval';
import { riskBand, riskBandInterval, RISK_BAND_CUTS, type RiskBand } from './risk-band';
import { PLAUSIBLE_RANGES, validateStay, type RangeFlag } from './stay-input';
import { dataSufficiency, type DataSufficiency } from './data-sufficiency';

/**
 * Clinical decision support for one ICU stay (issue 7, agent 4): validate and screen the stay
 * (stay-input.ts), score it with the served model through the model's own preprocessor, explain the
 * logit by gradient × input relative to the preprocessed baseline (attribution.ts), band the risk
 * (risk-band.ts), retrieve guideline passages for what drove the estimate (guideline-retrieval.ts)
 * and write the templated narrative with citations (clinical-narrative.ts). Pure: the model comes
 * in, the answer goes out; loading, halting and language models are the service's.
 */
export interface ServedModelVersion {
  versionId: string;
  runId: string;
  round: number;
  privacy: PrivacyGuarantee[];
  /** How well its risks match outcomes, as far as known (null: the version was never evaluated). */
  calibration?: ServedCalibration | null;
}

/** The served version's calibration on the hospitals' test splits (DP-noised estimates). */
export interface ServedCalibration {
  observedExpectedRatio: number | null;
  slope: number | null;
  /** Approximate 95 % intervals of the DP noise, when the figures are noisy. */
  observedExpectedRatioInterval: [number, number] | null;
  slopeInterval: [number, number] | null;
  /** Test stays the figures rest on (noisy count). */
  n: number;
  /**
   * The run trained site intercepts: each hospital scored with its own intercept, which it keeps;
   * the model served here has the shared one (the hospitals' mean), so the figures are not its.
   */
  siteIntercepts?: boolean;
  /** The answer was scored with this hospital's own intercept (its own model, site intercepts). */
  scoredAt?: string;
}

export interface FeatureContribution {
  /** A stay-level feature: a numeric column (with its missingness indicator) or 'first_careunit'. */
  feature: string;
  /** The value the model used: raw number, the care unit, or null when imputed. */
  value: number | string | null;
  status: 'measured' | 'missing' | 'out-of-range';
  /** Log-odds relative to the baseline; positive raises the risk. */
  contribution: number;
}

export interface ClinicalAssessment {
  stayId: string | null;
  /** Null when the stay holds too little to estimate (see `dataSufficiency`). */
  risk: number | null;
  band: RiskBand | null;
  bandInterval: string | null;
  dataSufficiency: DataSufficiency;
  bandCuts: readonly { band: RiskBand; from: number }[];
  flags: { feature: string; value: number; min: number; max: number; unit: string; message: string }[];
  missing: string[];
  findings: Pick<ClinicalFinding, 'id' | 'text'>[];
  topFeatures: FeatureContribution[];
  attribution: {
    method: AttributionMethod;
    baseline: string;
    baselineRisk: number;
    /** logit − baseline logit − Σ contributions over all columns: 0 for a logistic model. */
    completenessGap: number;
  };
  model: Omit<ServedModelVersion, 'privacy'>;
  privacy: PrivacyGuarantee[];
  guidance: { id: string; title: string; text: string; score: number }[];
  narrative: Narrative;
}

export interface AssessOptions {
  topFeatures?: number;
  guidancePassages?: number;
  method?: AttributionMethod;
  index?: GuidelineIndex;
}

export const BASELINE_DESCRIPTION =
  'an average stay: every numeric feature at its training mean (0 after standardising), lactate and bilirubin measured, no care-unit term';

const DEFAULT_INDEX = new GuidelineIndex();

/** Throws the ZodError of validateStay on bad input; everything else is an answer. */
export function assessStay(
  served: { model: LayersModel; preprocessor: Preprocessor; version: ServedModelVersion },
  input: unknown,
  options: AssessOptions = {},
): { assessment: ClinicalAssessment; narrativePrompt: (includeRecordValues: boolean) => NarrativePrompt } {
  const stay = validateStay(input);
  const sufficiency = dataSufficiency(stay.record.features);
  const design = transformRecords(served.preprocessor, [stay.record]);
  // The preprocessed baseline: zeros are the training mean of every standardised column.
  const baseline = new Float32Array(design.cols);
  const attribution = attribute(served.model, design.features, baseline, { method: options.method });
  const risk = sigmoid(attribution.logit);
  const baselineRisk = sigmoid(attribution.baselineLogit);

  const flagged = new Set(stay.flags.map((f) => f.feature));
  const byFeature = new Map<string, number>();
  design.featureNames.forEach((column, j) => {
    const feature = stayFeatureOf(column, served.preprocessor);
    byFeature.set(feature, (byFeature.get(feature) ?? 0) + attribution.contributions[j]);
  });
  const contributions: FeatureContribution[] = [...byFeature].map(([feature, contribution]) => ({
    feature,
    value: feature === 'first_careunit' ? stay.careUnit : (stay.record.features[feature] ?? null),
    status:
      feature === 'first_careunit' || stay.record.features[feature] != null
        ? 'measured'
        : flagged.has(feature)
          ? 'out-of-range'
          : 'missing',
    contribution,
  }));
  // Drivers of an estimate that is not given would explain nothing.
  const topFeatures = contributions
    .filter((c) => sufficiency.sufficient && Math.abs(c.contribution) > 1e-6)
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .slice(0, options.topFeatures ?? 5);

  const findings = clinicalFindings(stay.record.features);
  const retrieved = (options.index ?? DEFAULT_INDEX).search(
    guidelineQuery(topFeatures, findings, stay.flags),
    options.guidancePassages ?? 3,
  );
  const band = sufficiency.sufficient ? riskBand(risk) : null;
  const facts: NarrativeFacts = {
    risk: sufficiency.sufficient ? risk : null,
    insufficientData: sufficiency.reason,
    calibration: served.version.calibration ?? null,
    band,
    bandInterval: band ? riskBandInterval(band) : null,
    baselineRisk,
    versionId: served.version.versionId,
    raising: topFeatures
      .filter((c) => c.contribution > 0)
      .map((c) => ({ feature: c.feature, shown: shown(c) })),
    lowering: topFeatures
      .filter((c) => c.contribution < 0)
      .map((c) => ({ feature: c.feature, shown: shown(c) })),
    findings,
    flagged: stay.flags.map((f) => f.feature),
    missingCount: stay.missing.length,
  };
  const { privacy, ...model } = served.version;
  const assessment: ClinicalAssessment = {
    stayId: stay.stayId,
    risk: facts.risk,
    band,
    bandInterval: facts.bandInterval,
    dataSufficiency: sufficiency,
    bandCuts: RISK_BAND_CUTS,
    flags: stay.flags.map(flagView),
    missing: stay.missing,
    findings: findings.map(({ id, text }) => ({ id, text })),
    topFeatures,
    attribution: {
      method: attribution.method,
      baseline: BASELINE_DESCRIPTION,
      baselineRisk,
      completenessGap: attribution.completenessGap,
    },
    model: { ...model, calibration: model.calibration ?? null },
    privacy,
    guidance: retrieved.map((r) => ({
      id: r.passage.id,
      title: r.passage.title,
      text: r.passage.text,
      score: r.score,
    })),
    narrative: templateNarrative(facts, retrieved),
  };
  return {
    assessment,
    narrativePrompt: (includeRecordValues) => narrativeRequest(facts, retrieved, { includeRecordValues }),
  };
}

/**
 * The retrieval query: findings weigh 2 (a concrete abnormality), features that raised the
 * estimate 1, flagged values 0.5 (guidance on the measurement, if any); features that lowered it
 * are normal enough not to need guidance.
 */
export function guidelineQuery(
  top: readonly FeatureContribution[],
  findings: readonly ClinicalFinding[],
  flags: readonly RangeFlag[],
): QueryTerm[] {
  return [
    ...findings.flatMap((f) => [...f.terms, ...f.features].map((term) => ({ term, weight: 2 }))),
    ...top.filter((c) => c.contribution > 0).map((c) => ({ term: c.feature, weight: 1 })),
    ...flags.map((f) => ({ term: f.feature, weight: 0.5 })),
  ];
}

export type { RetrievedPassage };

function stayFeatureOf(column: string, p: Preprocessor): string {
  if (p.careUnits.some((unit) => careUnitColumn(unit) === column)) return 'first_careunit';
  if (column.endsWith('_missing') && p.missingnessIndicators.includes(column.slice(0, -'_missing'.length)))
    return column.slice(0, -'_missing'.length);
  return column;
}

function shown(c: FeatureContribution): string {
  if (c.feature === 'first_careunit') return `care unit ${String(c.value)}`;
  if (c.status === 'missing') return `${c.feature} not measured`;
  if (c.status === 'out-of-range') return `${c.feature} (implausible, imputed)`;
  const unit = PLAUSIBLE_RANGES[c.feature]?.unit;
  return `${c.feature} ${String(c.value)}${unit && unit !== '0/1' ? ` ${unit}` : ''}`;
}

function flagView(f: RangeFlag): ClinicalAssessment['flags'][number] {
  return {
    feature: f.feature,
    value: f.value,
    min: f.range.min,
    max: f.range.max,
    unit: f.range.unit,
    message: f.message,
  };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
