/**
 * Risk bands for a predicted in-hospital mortality risk. The cut points are anchored to the base
 * rate of the population the model is for, not to a validated treatment threshold:
 * - MIMIC-IV/III adult ICU in-hospital mortality is about 11.5–12.9 % (CLINICAL_DATA.md §0, §1.2),
 *   so 5–15 % is "about the ICU average";
 * - below 5 % is under half of it (elective cardiac surgery in the CVICU runs at about 4.6 %, §1.3);
 * - 15–30 % is above average, up to about 2.5 times the base rate;
 * - 30 % and above is the mortality of the sickest published sub-cohorts (31 %, §1.4 C).
 * A band describes a model's estimate; it is not a decision rule, and a model with a poor pooled
 * observed/expected ratio shifts every band.
 */
export type RiskBand = 'low' | 'moderate' | 'high' | 'very high';

export const RISK_BAND_CUTS: readonly { band: RiskBand; from: number }[] = [
  { band: 'low', from: 0 },
  { band: 'moderate', from: 0.05 },
  { band: 'high', from: 0.15 },
  { band: 'very high', from: 0.3 },
];

export function riskBand(risk: number): RiskBand {
  if (!(risk >= 0 && risk <= 1)) throw new RangeError(`risk must be in [0, 1], got ${risk}`);
  let band: RiskBand = 'low';
  for (const cut of RISK_BAND_CUTS) if (risk >= cut.from) band = cut.band;
  return band;
}

/** The band's interval as text, e.g. '15–30 %'. */
export function riskBandInterval(band: RiskBand): string {
  const k = RISK_BAND_CUTS.findIndex((c) => c.band === band);
  const from = RISK_BAND_CUTS[k].from * 100;
  const next = RISK_BAND_CUTS[k + 1];
  return next ? `${from}–${next.from * 100} %` : `≥ ${from} %`;
}
