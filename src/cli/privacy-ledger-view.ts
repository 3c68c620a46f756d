import { FilePatientLedgerStore } from '../adapters/ledger/file-patient-ledger-store';
import { ledgerEpsilon } from '../services/patient-privacy';

/** What `himas privacy ledger` shows, as data (--json prints exactly this). */
export interface PatientLedgersView {
  ledgerDirectory: string;
  delta: number;
  hospitals: Array<{
    hospitalId: string;
    cohortFingerprint: string;
    /** Cumulative ε at δ over every entry (null = ∞). */
    epsilon: number | null;
    entries: Array<{
      runId: string;
      round: number;
      attempt: string;
      chargedAt: string;
      mechanism: {
        samplingProbability: number;
        noiseMultiplier: number;
        steps: number;
        exampleClipNorm: number;
      };
      /** ε at δ of this entry and every one before it (null = ∞). */
      epsilonAfter: number | null;
    }>;
  }>;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export async function readPatientLedgers(
  ledgerDirectory: string,
  delta: number,
  hospitalId?: string,
): Promise<PatientLedgersView> {
  const store = new FilePatientLedgerStore(ledgerDirectory);
  const hospitals: PatientLedgersView['hospitals'] = [];
  for (const cohort of await store.cohorts()) {
    if (hospitalId !== undefined && cohort.hospitalId !== hospitalId) continue;
    const entries = await store.read(cohort.hospitalId, cohort.cohortFingerprint);
    hospitals.push({
      ...cohort,
      epsilon: finiteOrNull(ledgerEpsilon(entries, delta)),
      entries: entries.map((e, i) => ({
        runId: e.runId,
        round: e.round,
        attempt: e.attempt,
        chargedAt: e.chargedAt,
        mechanism: {
          samplingProbability: e.samplingProbability,
          noiseMultiplier: e.noiseMultiplier,
          steps: e.steps,
          exampleClipNorm: e.exampleClipNorm,
        },
        epsilonAfter: finiteOrNull(ledgerEpsilon(entries.slice(0, i + 1), delta)),
      })),
    });
  }
  return { ledgerDirectory, delta, hospitals };
}

export function renderPatientLedgers(view: PatientLedgersView): string {
  if (view.hospitals.length === 0)
    return `No patient-level ledger in ${view.ledgerDirectory}: no hospital has trained with DP-SGD on this cohort yet.`;
  const eps = (x: number | null) => (x === null ? '∞' : x.toFixed(4));
  const lines = [`Patient-level ledgers in ${view.ledgerDirectory} (ε at δ = ${view.delta}):`];
  for (const h of view.hospitals) {
    const runs = new Set(h.entries.map((e) => e.runId)).size;
    lines.push('');
    lines.push(
      `${h.hospitalId}  cohort ${h.cohortFingerprint.slice(0, 12)}…  ${h.entries.length} attempt(s) in ${runs} run(s)  cumulative patient-level ε = ${eps(h.epsilon)}`,
    );
    lines.push(
      `  ${'run'.padEnd(28)} ${'round'.padStart(5)}  ${'attempt'.padEnd(8)}  mechanism${' '.repeat(31)}ε after`,
    );
    for (const e of h.entries) {
      const m = e.mechanism;
      const mechanism = `${m.steps} steps q=${m.samplingProbability.toFixed(4)} z=${m.noiseMultiplier.toFixed(3)} C=${m.exampleClipNorm}`;
      lines.push(
        `  ${e.runId.padEnd(28)} ${String(e.round).padStart(5)}  ${e.attempt.padEnd(8)}  ${mechanism.padEnd(40)} ${eps(e.epsilonAfter)}`,
      );
    }
  }
  return lines.join('\n');
}
