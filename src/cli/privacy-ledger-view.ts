import type { SignedLedgerEntry } from '../../schemas/privacy-ledger';
import { hospitalTotals } from '../services/hospital-ledger';
import type { HospitalLedgerStore } from '../ports/hospital-ledger-store';

/** What `himas privacy ledger` shows, as data (--json prints exactly this). ε null = ∞. */
export interface HospitalLedgersView {
  location: string;
  delta: number;
  hospitals: Array<{
    hospitalId: string;
    budgetEpsilon: number | null;
    lifetime: { epsilon: number | null; train: number | null; test: number | null };
    /** Each mechanism composed alone over the whole ledger. */
    byMechanism: Array<{ mechanism: string; partitions: string[]; epsilon: number | null }>;
    runs: Array<{ runId: string; epsilon: number | null; train: number | null; test: number | null }>;
    entries: Array<{
      sequence: number;
      runId: string;
      kind: 'reservation' | 'use';
      slots: string[];
      chargedAt: string;
      mechanisms: Array<{ mechanism: string; partitions: string[]; uses: number; noiseMultiplier: number }>;
      /** The hospital's lifetime ε after this entry. */
      epsilonAfter: number | null;
    }>;
  }>;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export async function readHospitalLedgers(
  store: HospitalLedgerStore,
  location: string,
  delta: number,
  hospitalId?: string,
): Promise<HospitalLedgersView> {
  const hospitals: HospitalLedgersView['hospitals'] = [];
  for (const id of await store.hospitals()) {
    if (hospitalId !== undefined && id !== hospitalId) continue;
    const entries = await store.read(id);
    if (entries.length === 0) continue;
    hospitals.push(viewOf(id, entries, delta));
  }
  return { location, delta, hospitals };
}

function viewOf(
  hospitalId: string,
  entries: SignedLedgerEntry[],
  delta: number,
): HospitalLedgersView['hospitals'][number] {
  const runIds = [...new Set(entries.map((e) => e.entry.runId))];
  const { lifetime } = hospitalTotals(entries, runIds[0], delta);
  return {
    hospitalId,
    budgetEpsilon: entries.at(-1)!.entry.budgetEpsilon,
    lifetime: split(lifetime),
    byMechanism: lifetime.byMechanism.map((m) => ({ ...m, epsilon: finiteOrNull(m.epsilon) })),
    runs: runIds.map((runId) => ({ runId, ...split(hospitalTotals(entries, runId, delta).run) })),
    entries: entries.map(({ entry }, i) => ({
      sequence: entry.sequence,
      runId: entry.runId,
      kind: entry.kind,
      slots: entry.slots,
      chargedAt: entry.chargedAt,
      mechanisms: entry.mechanisms.map((m) => ({
        mechanism: m.mechanism,
        partitions: m.partitions,
        uses: m.uses,
        noiseMultiplier: m.noiseMultiplier,
      })),
      epsilonAfter: finiteOrNull(
        hospitalTotals(entries.slice(0, i + 1), entry.runId, delta).lifetime.epsilon,
      ),
    })),
  };
}

function split(t: ReturnType<typeof hospitalTotals>['run']) {
  return {
    epsilon: finiteOrNull(t.epsilon),
    train: finiteOrNull(t.partitions.train.epsilon),
    test: finiteOrNull(t.partitions.test.epsilon),
  };
}

export function renderHospitalLedgers(view: HospitalLedgersView): string {
  if (view.hospitals.length === 0)
    return `No privacy ledger in ${view.location}: no hospital has reserved a run there yet (\`himas train\` makes one per hospital).`;
  const eps = (x: number | null) => (x === null ? '∞' : x.toFixed(3));
  const lines = [
    `Privacy ledgers in ${view.location} (patient-level ε at δ = ${view.delta}; each hospital's worse split):`,
  ];
  for (const h of view.hospitals) {
    lines.push('');
    lines.push(
      `${h.hospitalId}: lifetime ε = ${eps(h.lifetime.epsilon)} of a budget of ${h.budgetEpsilon ?? '?'} (train split ${eps(h.lifetime.train)}, test split ${eps(h.lifetime.test)}) over ${h.runs.length} run(s), ${h.entries.length} entries`,
    );
    lines.push(
      `  by mechanism (each alone): ${h.byMechanism.map((m) => `${m.mechanism} ${eps(m.epsilon)}`).join(', ')}`,
    );
    for (const r of h.runs)
      lines.push(`  run ${r.runId}: ε = ${eps(r.epsilon)} (train ${eps(r.train)}, test ${eps(r.test)})`);
    lines.push(
      `  ${'#'.padStart(4)} ${'kind'.padEnd(11)} ${'run'.padEnd(28)} ${'what'.padEnd(44)} lifetime ε after`,
    );
    for (const e of h.entries) {
      const what =
        e.kind === 'reservation'
          ? e.mechanisms.map((m) => `${m.mechanism}×${m.uses}`).join(' ')
          : `${e.slots.join(' ')}${e.mechanisms.length > 0 ? ' (charged again)' : ''}`;
      lines.push(
        `  ${String(e.sequence).padStart(4)} ${e.kind.padEnd(11)} ${e.runId.padEnd(28)} ${what.padEnd(44)} ${eps(e.epsilonAfter)}`,
      );
    }
  }
  return lines.join('\n');
}
