import type { RunDocument } from '../../schemas/documents';
import {
  SURVEILLANCE_ALERTS_TABLE,
  SURVEILLANCE_RELEASES_TABLE,
  TREATMENT_ESTIMATES_TABLE,
  TREATMENT_TABLES_TABLE,
  type SurveillanceAlertRow,
  type TreatmentEstimateRow,
} from '../../schemas/warehouse';
import { computeEpsilon } from '../core/privacy';
import type { Warehouse } from '../ports/warehouse';

/** What the surveillance and treatment agents wrote for a run, for `himas agents`. */
export interface SurveillanceTreatmentView {
  surveillance: {
    hospitalsReported: string[];
    /** Patient-level ε per hospital of both releases alone (surveillance then treatment), at δ; the ledger holds the run total. */
    releaseEpsilon: { hospitalId: string; epsilon: number | null; delta: number }[];
    alerts: SurveillanceAlertRow[];
  };
  treatment: { hospitalsReported: string[]; estimates: TreatmentEstimateRow[] };
}

export async function readSurveillanceTreatment(
  warehouse: Warehouse,
  run: RunDocument,
): Promise<SurveillanceTreatmentView> {
  const runId = run.runId;
  const releases = await warehouse.query(SURVEILLANCE_RELEASES_TABLE, { where: { runId } });
  const tables = await warehouse.query(TREATMENT_TABLES_TABLE, { where: { runId } });
  const alerts = await warehouse.query(SURVEILLANCE_ALERTS_TABLE, { where: { runId }, orderBy: 'week' });
  const estimates = await warehouse.query(TREATMENT_ESTIMATES_TABLE, { where: { runId } });
  const delta = run.config.delta;
  // Each release is one Gaussian mechanism with its noise multiplier (noise SD / Δ₂: 2 and 1).
  const releaseEpsilon = run.hospitals
    .filter((h) => releases.some((r) => r.hospitalId === h) || tables.some((t) => t.hospitalId === h))
    .map((hospitalId) => {
      const events = [
        ...releases.filter((r) => r.hospitalId === hospitalId).map((r) => r.noiseStd / 2),
        ...tables.filter((t) => t.hospitalId === hospitalId).map((t) => t.noiseStd),
      ].map((noiseMultiplier) => ({ kind: 'gaussian' as const, noiseMultiplier }));
      const epsilon = computeEpsilon({ kind: 'composed', events }, delta).epsilon;
      return { hospitalId, epsilon: Number.isFinite(epsilon) ? epsilon : null, delta };
    });
  return {
    surveillance: { hospitalsReported: releases.map((r) => r.hospitalId).sort(), releaseEpsilon, alerts },
    treatment: {
      hospitalsReported: tables.map((t) => t.hospitalId).sort(),
      estimates: [...estimates].sort((a, b) => Number(a.scope === 'pooled') - Number(b.scope === 'pooled')),
    },
  };
}

const or = (x: number | null): string => (x === null ? 'n/a' : Math.exp(x).toFixed(2));

export function formatSurveillanceTreatment(view: SurveillanceTreatmentView, run: RunDocument): string[] {
  const out: string[] = [];
  const { surveillance, treatment } = view;
  const n = run.hospitals.length;
  out.push(
    '',
    `Disease surveillance (CUSUM h = ${run.config.surveillanceThreshold} on DP-noised weekly counts; ${surveillance.hospitalsReported.length}/${n} hospitals reported):`,
  );
  if (run.config.surveillanceNoiseMultiplier === null)
    out.push(
      '  not enabled in this run: at the default budget the weekly counts would need noise that hides any outbreak; turn it on with --surveillance-noise-multiplier Z and a patient-level target that pays for it (`himas privacy plan` shows the cost)',
    );
  else if (surveillance.hospitalsReported.length < n)
    out.push('  waiting for every hospital: no detection yet');
  else if (surveillance.alerts.length === 0) out.push('  no alerts');
  for (const a of surveillance.alerts)
    out.push(
      `  ALERT ${a.hospitalId.padEnd(14)} ${a.signal.padEnd(12)} week ${String(a.week).padEnd(4)} (${a.weekStart})  excess ≈ ${a.size.toFixed(1)}`,
    );
  for (const e of surveillance.releaseEpsilon)
    out.push(
      `  privacy: ${e.hospitalId}'s counts and tables cost patient-level ε = ${e.epsilon === null ? '∞' : e.epsilon.toFixed(2)}, δ = ${e.delta} by themselves (both composed), inside its run total (\`himas privacy ledger --hospital ${e.hospitalId}\`)`,
    );
  out.push(
    '',
    `Treatment optimization (day-1 vasopressors vs in-hospital mortality; ${treatment.hospitalsReported.length}/${n} hospitals reported):`,
  );
  if (run.config.treatmentNoiseMultiplier === null)
    out.push(
      '  not enabled in this run: turn it on with --treatment-noise-multiplier Z and a patient-level target that pays for it',
    );
  else if (treatment.estimates.length === 0) out.push('  no estimate yet');
  else out.push(`  ${'hospital'.padEnd(14)} ${'adjusted OR'.padEnd(12)} ${'95 % CI'.padEnd(13)} crude OR`);
  for (const e of treatment.estimates)
    out.push(
      `  ${(e.scope === 'pooled' ? 'pooled' : e.hospitalId).padEnd(14)} ${or(e.logOddsRatio).padEnd(12)} ${`${or(e.ciLow)}–${or(e.ciHigh)}`.padEnd(13)} ${or(e.crudeLogOddsRatio)}`,
    );
  const pooled = treatment.estimates.find((e) => e.scope === 'pooled');
  if (pooled) {
    out.push(`  ${pooled.adjustment}`, '  Caveats:');
    for (const c of pooled.caveats) out.push(`  - ${c}`);
  }
  return out;
}
