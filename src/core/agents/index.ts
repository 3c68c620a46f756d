/** Pure logic of the healthcare agents (issue 7); entry points and ports live elsewhere. */
export * from './privacy-guardian';
export * from './convergence';
export * from './run-summary';
export * from './surveillance';
export * from './cusum';
export * from './treatment-effect';
export { severityScore } from './severity-score';
export * from './clinical-support';
export {
  StayInputSchema,
  PLAUSIBLE_RANGES,
  validateStay,
  type RangeFlag,
  type StayInput,
} from './stay-input';
export { riskBand, riskBandInterval, RISK_BAND_CUTS, type RiskBand } from './risk-band';
export { attribute, type Attribution, type AttributionMethod } from './attribution';
export { GuidelineIndex, tokenize } from './guideline-retrieval';
export { GUIDELINE_PASSAGES, type GuidelinePassage } from './guideline-corpus';
export { type Citation, type Narrative, type NarrativePrompt } from './clinical-narrative';
export { chooseServableVersion, type ServableChoice, type VersionFacts } from './servable-version';
