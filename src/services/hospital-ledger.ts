import type { KeyObject } from 'node:crypto';
import type { LedgerEntry, LedgerMechanism, SignedLedgerEntry } from '../../schemas/privacy-ledger';
import {
  ledgerTotals,
  reservationOf,
  totalsWith,
  uncoveredCharges,
  type ChargedMechanism,
  type DpEvent,
  type LedgerEntryView,
  type LedgerTotals,
  type PlannedMechanism,
  type RunPrivacyPlan,
} from '../core/privacy';
import type { Clock } from '../ports/clock';
import type { HospitalLedgerStore } from '../ports/hospital-ledger-store';
import { entrySha256, signLedgerEntry, verifyLedgerChain } from '../runtime/ledger-signing';

/**
 * Charging a hospital's own privacy ledger (../shared/ARCHITECTURE.md §2). Every function here runs
 * in the hospital's job BEFORE the data it pays for is read:
 *
 * - `reserveRun`: the run's whole plan as one entry, refused when it would take any partition of
 *   the hospital past its lifetime budget ("refused before it reads a record");
 * - `useSlots`: one entry per read of the data; free when the reservation covers it, charged (and
 *   checked against the budget) when it does not — a retried round pays again.
 *
 * The hospital's own store is authoritative; every entry is also published to the mirror in the
 * shared store (signed and chained), where the aggregator, the privacy guardian and auditors read
 * it. A mirror longer than the hospital's own ledger means that ledger was reset or replaced: its
 * entries, signed with the hospital's own key, are restored from the mirror before anything is
 * charged, so deleting a ledger never gives budget back.
 */
export interface HospitalLedgerDeps {
  ledger: HospitalLedgerStore;
  mirror: HospitalLedgerStore;
  clock: Clock;
}

export interface LedgerSigner {
  hospitalId: string;
  privateKey: KeyObject;
  /** Raw Ed25519 public key, base64, as enrolled. */
  publicKey: string;
  /** Keys the hospital signed with before rotations (oldest first): older entries verify under them. */
  previousPublicKeys?: readonly string[];
}

export interface ChargeSettings {
  delta: number;
  budgetEpsilon: number;
  targetEpsilon: number;
  /**
   * The run trains without DP-SGD: the operator waived the patient-level guarantee. Its charges are
   * recorded (ε = ∞) but not refused; the hospital's lifetime total is ∞ from then on.
   */
  waived?: boolean;
}

/** A refused charge: the message says what, where and what to do. No data was read. */
export class PatientBudgetExhaustedError extends Error {}

/** The hospital's ledger and its published copy disagree: nothing can be charged safely. */
export class LedgerDivergedError extends Error {}

/** Conditional creates that lose a race are retried after re-reading; more than this is a fault. */
const MAX_APPEND_ATTEMPTS = 20;

export async function reserveRun(
  deps: HospitalLedgerDeps,
  signer: LedgerSigner,
  input: {
    runId: string;
    /** The run's plan, computed only if the run has no reservation yet. */
    plan: () => RunPrivacyPlan;
    settings: ChargeSettings;
    declaredTrainStays: number | null;
  },
): Promise<SignedLedgerEntry[]> {
  let plan: RunPrivacyPlan | undefined;
  return appendChecked(deps, signer, input.settings, undefined, (entries) => {
    if (reservationOf(views(entries), input.runId)) return null;
    plan ??= input.plan();
    const mechanisms = plan.mechanisms.map(toLedgerMechanism);
    const planned = plan;
    return {
      runId: input.runId,
      kind: 'reservation',
      slots: [],
      mechanisms,
      declaredTrainStays: input.declaredTrainStays,
      refusal: (totals, spent) =>
        `hospital ${signer.hospitalId} refuses run ${input.runId} before reading any record: its patients' lifetime budget ε = ${input.settings.budgetEpsilon} (δ = ${input.settings.delta}) would be exceeded (${describeSpend(spent, entries)}; this run's plan of ε = ${fmt(planned.epsilon)} would bring it to ${fmt(totals.epsilon)}). `,
    };
  });
}

export async function useSlots(
  deps: HospitalLedgerDeps,
  signer: LedgerSigner,
  input: {
    runId: string;
    slots: string[];
    settings: ChargeSettings;
    /**
     * The ledger as this job's reservation (reserveRun) just returned it, reconciled with its
     * mirror: the first attempt builds on it instead of reading both again. Safe when stale: the
     * entry is created only if its number is still free, else the ledger is re-read and checked.
     */
    known?: readonly SignedLedgerEntry[];
  },
): Promise<{ entries: SignedLedgerEntry[]; charged: ChargedMechanism[] }> {
  let charged: ChargedMechanism[] = [];
  const entries = await appendChecked(deps, signer, input.settings, input.known, (entries) => {
    charged = uncoveredCharges(views(entries), input.runId, input.slots);
    const reserved = entries.find((e) => e.entry.runId === input.runId && e.entry.kind === 'reservation')!;
    return {
      runId: input.runId,
      kind: 'use',
      slots: input.slots,
      // One more use of each uncovered mechanism, described as the reservation described it.
      mechanisms: charged.map((c) => {
        const planned = reserved.entry.mechanisms.find((m) => m.mechanism === c.mechanism)!;
        return { ...planned, uses: 1, event: planned.perUse };
      }),
      declaredTrainStays: null,
      refusal: (totals, spent) =>
        `hospital ${signer.hospitalId} refuses to read its data for ${input.slots.join(', ')} of run ${input.runId}: this use is not covered by the run's reservation (a retry pays again) and would take its patients past their lifetime budget ε = ${input.settings.budgetEpsilon} (δ = ${input.settings.delta}) (${describeSpend(spent, entries)}; this use would bring it to ${fmt(totals.epsilon)}). `,
    };
  });
  return { entries, charged };
}

interface Draft {
  runId: string;
  kind: 'reservation' | 'use';
  slots: string[];
  mechanisms: LedgerMechanism[];
  declaredTrainStays: number | null;
  refusal: (after: LedgerTotals, before: LedgerTotals) => string;
}

/**
 * Read, check, create the next entry; on a lost race re-read and check again. `known` (entries
 * read and reconciled moments ago in this job) stands in for the first read.
 */
async function appendChecked(
  deps: HospitalLedgerDeps,
  signer: LedgerSigner,
  settings: ChargeSettings,
  known: readonly SignedLedgerEntry[] | undefined,
  draft: (entries: SignedLedgerEntry[]) => Draft | null,
): Promise<SignedLedgerEntry[]> {
  for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
    const entries = attempt === 0 && known ? [...known] : await readReconciled(deps, signer);
    const next = draft(entries);
    if (next === null) return entries;
    if (next.mechanisms.length > 0) {
      const before = ledgerTotals(views(entries), settings.delta);
      const after = totalsWith(views(entries), next.mechanisms.map(ledgerToCharged), settings.delta);
      if (!settings.waived && !(after.epsilon <= settings.budgetEpsilon))
        throw new PatientBudgetExhaustedError(
          next.refusal(after, before) +
            `Ledger: ${deps.ledger.describe(signer.hospitalId)} (\`himas privacy ledger --hospital ${signer.hospitalId}\`). ` +
            'To go on: lower patientTargetEpsilon so the run fits what is left, or raise patientBudgetEpsilon if your privacy policy allows it.',
        );
    }
    const last = entries.at(-1);
    const entry: LedgerEntry = {
      version: 1,
      hospitalId: signer.hospitalId,
      sequence: entries.length,
      previousSha256: last ? entrySha256(last.entry) : null,
      chargedAt: deps.clock.now().toISOString(),
      runId: next.runId,
      kind: next.kind,
      slots: next.slots,
      mechanisms: next.mechanisms,
      delta: settings.delta,
      budgetEpsilon: settings.budgetEpsilon,
      targetEpsilon: settings.targetEpsilon,
      declaredTrainStays: next.declaredTrainStays,
    };
    const signed = signLedgerEntry(entry, signer.privateKey);
    if (await deps.ledger.append(signer.hospitalId, signed)) {
      const all = [...entries, signed];
      // Reconciled entries are all in the mirror already: only the new one is copied.
      await publish(deps, signer, all, entries.length);
      return all;
    }
  }
  throw new Error(
    `could not append to ${signer.hospitalId}'s privacy ledger after ${MAX_APPEND_ATTEMPTS} attempts: another writer keeps winning; try again`,
  );
}

/**
 * The hospital's entries, reconciled with the mirror: restored from it when the mirror is ahead
 * (signed by this hospital's own key), refused when the two disagree on any entry.
 */
async function readReconciled(deps: HospitalLedgerDeps, signer: LedgerSigner): Promise<SignedLedgerEntry[]> {
  const own = await deps.ledger.read(signer.hospitalId);
  const published = await deps.mirror.read(signer.hospitalId);
  const common = Math.min(own.length, published.length);
  for (let i = 0; i < common; i++) {
    if (entrySha256(own[i].entry) !== entrySha256(published[i].entry))
      throw new LedgerDivergedError(
        `hospital ${signer.hospitalId}'s privacy ledger (${deps.ledger.describe(signer.hospitalId)}) and its published copy (${deps.mirror.describe(signer.hospitalId)}) differ at entry ${i}: one was replaced. Nothing was charged and no data was read; restore the hospital's own ledger from a backup.`,
      );
  }
  if (published.length > own.length) {
    const check = verifyLedgerChain({
      hospitalId: signer.hospitalId,
      signingPublicKey: signer.publicKey,
      previousSigningPublicKeys: signer.previousPublicKeys,
      entries: published,
    });
    if (!check.ok)
      throw new LedgerDivergedError(
        `hospital ${signer.hospitalId}'s published ledger has ${published.length} entries, its own ${own.length}, and the published ones do not verify (${check.reason}); nothing was charged`,
      );
    for (const signed of published.slice(own.length)) await deps.ledger.append(signer.hospitalId, signed);
    return deps.ledger.read(signer.hospitalId);
  }
  if (own.length > published.length) await publish(deps, signer, own, published.length);
  return own;
}

/**
 * Copies the entries the mirror lacks; a different entry already there is a divergence.
 * `publishedLength`, when the caller knows it, saves reading the mirror first (a create that finds
 * its entry taken is still checked against what is there).
 */
async function publish(
  deps: HospitalLedgerDeps,
  signer: LedgerSigner,
  entries: SignedLedgerEntry[],
  publishedLength?: number,
): Promise<void> {
  const from = publishedLength ?? (await deps.mirror.read(signer.hospitalId)).length;
  for (const signed of entries.slice(from)) {
    if (await deps.mirror.append(signer.hospitalId, signed)) continue;
    const [existing] = (await deps.mirror.read(signer.hospitalId)).slice(
      signed.entry.sequence,
      signed.entry.sequence + 1,
    );
    if (!existing || entrySha256(existing.entry) !== entrySha256(signed.entry))
      throw new LedgerDivergedError(
        `hospital ${signer.hospitalId}'s published ledger already has a different entry ${signed.entry.sequence}`,
      );
  }
}

/** The hospital's guarantee from its entries: this run's total and its lifetime total. */
export function hospitalTotals(
  entries: readonly SignedLedgerEntry[],
  runId: string,
  delta: number,
): { run: LedgerTotals; lifetime: LedgerTotals } {
  const v = views(entries);
  return { run: ledgerTotals(v, delta, { runId }), lifetime: ledgerTotals(v, delta) };
}

export function views(entries: readonly SignedLedgerEntry[]): LedgerEntryView[] {
  return entries.map(({ entry }) => ({
    runId: entry.runId,
    kind: entry.kind,
    slots: entry.slots,
    mechanisms: entry.mechanisms.map(ledgerToCharged),
  }));
}

function toLedgerMechanism(m: PlannedMechanism): LedgerMechanism {
  return {
    mechanism: m.mechanism,
    partitions: m.partitions,
    slot: m.slot,
    uses: m.uses,
    perUse: m.perUse,
    event: m.event,
    noiseMultiplier: m.noiseMultiplier,
    l2Sensitivity: Number.isFinite(m.l2Sensitivity) ? m.l2Sensitivity : null,
    samplingProbability: m.samplingProbability ?? null,
    stepsPerUse: m.stepsPerUse ?? null,
  };
}

function ledgerToCharged(m: LedgerMechanism): ChargedMechanism {
  return {
    mechanism: m.mechanism,
    partitions: m.partitions,
    slot: m.slot,
    uses: m.uses,
    perUse: m.perUse as DpEvent,
    event: m.event as DpEvent,
  };
}

function describeSpend(spent: LedgerTotals, entries: readonly SignedLedgerEntry[]): string {
  const runs = new Set(entries.map((e) => e.entry.runId)).size;
  return `spent ε = ${fmt(spent.epsilon)} over ${runs} run(s) (train split ${fmt(spent.partitions.train.epsilon)}, test split ${fmt(spent.partitions.test.epsilon)})`;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '∞');
