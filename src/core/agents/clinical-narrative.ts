import type { ClinicalFinding } from './clinical-findings';
import { GUIDELINE_PASSAGES, type GuidelinePassage } from './guideline-corpus';
import type { RetrievedPassage } from './guideline-retrieval';
import type { RiskBand } from './risk-band';
import type { ServedCalibration } from './clinical-support';

/**
 * The decision-support narrative: a deterministic template over the assessment and the retrieved
 * guideline passages, with numbered citations. A language model may rephrase it only when a
 * deployment configures one (src/services/clinical-support-agent.ts); `narrativeRequest` builds
 * what it is sent, and without `includeRecordValues` that holds no identifier and no value of the
 * record: only the band, feature names with the direction they moved the estimate, the names of
 * findings and the guideline text.
 */
export interface Citation {
  n: number;
  id: string;
  title: string;
  citation: string;
  url?: string;
}

/** What a language model is sent; structurally the LanguageModel port's request (src/ports). */
export interface NarrativePrompt {
  system: string;
  prompt: string;
  maxOutputTokens: number;
}

export interface Narrative {
  text: string;
  citations: Citation[];
  /** 'template', or the language model's name when it wrote the text. */
  writer: string;
}

export interface NarrativeFacts {
  /** Null when the stay holds too little for an estimate; `insufficientData` says why. */
  risk: number | null;
  insufficientData: string | null;
  band: RiskBand | null;
  bandInterval: string | null;
  /** The served version's calibration, stated with every answer (null: never evaluated). */
  calibration: ServedCalibration | null;
  baselineRisk: number;
  versionId: string;
  raising: { feature: string; shown: string }[];
  lowering: { feature: string; shown: string }[];
  findings: ClinicalFinding[];
  flagged: string[];
  missingCount: number;
}

/** Always cited last: what a risk estimate is and is not (TRIPOD). */
const CAVEAT: GuidelinePassage = GUIDELINE_PASSAGES.find((p) => p.id === 'prediction-models')!;

/**
 * One citation per passage, numbered by source: passages from the same publication share its
 * number, so one guideline is [1] however many of its passages were retrieved.
 */
export function citationsFor(retrieved: readonly RetrievedPassage[]): Citation[] {
  const passages = [...retrieved.map((r) => r.passage).filter((p) => p.id !== CAVEAT.id), CAVEAT];
  const numbers = new Map<string, number>();
  return passages.map((p) => {
    const n = numbers.get(p.source.citation) ?? numbers.size + 1;
    numbers.set(p.source.citation, n);
    return {
      n,
      id: p.id,
      title: p.title,
      citation: p.source.citation,
      ...(p.source.url ? { url: p.source.url } : {}),
    };
  });
}

/** The reference list: each cited source once, in citation order. */
export function referenceList(citations: readonly Citation[]): Citation[] {
  return citations.filter((c, i) => citations.findIndex((d) => d.n === c.n) === i);
}

const pct = (p: number) => `${(p * 100).toFixed(1)} %`;
const list = (items: string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

export function templateNarrative(facts: NarrativeFacts, retrieved: readonly RetrievedPassage[]): Narrative {
  const citations = citationsFor(retrieved);
  const sentences: string[] = [
    facts.risk === null
      ? `Insufficient data for a mortality risk estimate: ${facts.insufficientData}.`
      : `Estimated in-hospital mortality risk ${pct(facts.risk)}: ${facts.band} (${facts.bandInterval}), from model ${facts.versionId}.`,
  ];
  if (facts.risk !== null) sentences.push(calibrationSentence(facts.calibration));
  const drivers: string[] = [];
  if (facts.raising.length > 0) drivers.push(`raised most by ${list(facts.raising.map((f) => f.shown))}`);
  if (facts.lowering.length > 0) drivers.push(`lowered by ${list(facts.lowering.map((f) => f.shown))}`);
  if (drivers.length > 0)
    sentences.push(
      `Against an average stay (${pct(facts.baselineRisk)}), the estimate is ${drivers.join(' and ')}.`,
    );
  if (facts.findings.length > 0)
    sentences.push(`Findings in the first 24 h: ${list(facts.findings.map((f) => f.text))}.`);
  const guidance = citations.filter((c) => c.id !== CAVEAT.id);
  if (guidance.length > 0)
    sentences.push(`Relevant guidance: ${guidance.map((c) => `${c.title} [${c.n}]`).join('; ')}.`);
  if (facts.flagged.length > 0)
    sentences.push(
      `Not used because implausible (treated as missing): ${list(facts.flagged)}; check units and entries.`,
    );
  if (facts.missingCount > 0 && facts.risk !== null)
    sentences.push(
      `${facts.missingCount} feature(s) were not measured and were imputed at the training mean.`,
    );
  sentences.push(
    `This is a model estimate to support, not replace, clinical judgement [${citations.at(-1)!.n}].`,
  );
  return { text: sentences.join(' '), citations, writer: 'template' };
}

/** What the served model's calibration says about this number, in one sentence. */
export function calibrationSentence(c: ServedCalibration | null): string {
  if (c?.siteIntercepts === true)
    return "The model was trained with site intercepts: each hospital keeps its own intercept and its figures were measured with it, while this shared model carries only the mean of the hospitals' intercepts, whose calibration at any hospital was not measured; read these risks as a ranking, not as probabilities.";
  const own =
    c?.scoredAt === undefined
      ? ''
      : `Scored with ${c.scoredAt}'s own intercept, as the hospitals' evaluations were scored with theirs. `;
  if (!c || (c.observedExpectedRatio === null && c.slope === null))
    return (
      own +
      'The model has not been evaluated on held-out stays, so how well its risks match outcomes is unknown.'
    );
  const range = (iv: readonly [number, number] | null) =>
    iv ? ` [${iv[0].toFixed(2)}, ${iv[1].toFixed(2)}]` : '';
  const parts = [
    c.observedExpectedRatio === null
      ? null
      : `observed/expected deaths ${c.observedExpectedRatio.toFixed(2)}${range(c.observedExpectedRatioInterval)} (1 is ideal)`,
    c.slope === null ? null : `calibration slope ${c.slope.toFixed(2)}${range(c.slopeInterval)} (1 is ideal)`,
  ].filter(Boolean);
  return `${own}On the hospitals' ${c.n} held-out test stays (DP-noised estimates, approximate 95 % noise intervals) the model's calibration is ${parts.join(', ')}.`;
}

/**
 * The language-model request for the same narrative. The template stays the source of truth for
 * the facts; the model is asked to rephrase, to cite only the numbered passages, and to add nothing.
 */
export function narrativeRequest(
  facts: NarrativeFacts,
  retrieved: readonly RetrievedPassage[],
  options: { includeRecordValues: boolean },
): NarrativePrompt {
  const citations = citationsFor(retrieved);
  const passages = citations.map((c) => {
    const p = GUIDELINE_PASSAGES.find((g) => g.id === c.id)!;
    return `[${c.n}] ${p.title}: ${p.text}`;
  });
  const name = (f: { feature: string; shown: string }) => (options.includeRecordValues ? f.shown : f.feature);
  const facts_ = [
    facts.risk === null
      ? `No risk estimate: insufficient data (${facts.insufficientData}).`
      : options.includeRecordValues
        ? `Estimated risk: ${pct(facts.risk)} (${facts.band}, ${facts.bandInterval}).`
        : `Risk band: ${facts.band} (${facts.bandInterval}).`,
    facts.risk === null ? null : calibrationSentence(facts.calibration),
    `Features raising the estimate: ${facts.raising.map(name).join('; ') || 'none'}.`,
    `Features lowering the estimate: ${facts.lowering.map(name).join('; ') || 'none'}.`,
    `Findings: ${facts.findings.map((f) => f.text).join('; ') || 'none'}.`,
    `Values not used as implausible: ${facts.flagged.join(', ') || 'none'}.`,
  ].filter((line): line is string => line !== null);
  return {
    system:
      'You write a short decision-support note for an ICU clinician from the facts and numbered guideline passages given. ' +
      'Use only those facts and passages, cite passages as [n], do not recommend a specific treatment for this patient, ' +
      'and end by saying the estimate supports and does not replace clinical judgement. At most 120 words.',
    prompt: `Facts:\n${facts_.join('\n')}\n\nPassages:\n${passages.join('\n')}`,
    maxOutputTokens: 400,
  };
}
