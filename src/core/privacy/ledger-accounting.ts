import { composedEvent, type DpEvent } from './dp-event';
import { computeEpsilon } from './rdp-accountant';
import {
  PARTITIONS,
  type MechanismKind,
  type Partition,
  type PartitionTotal,
  type SlotKind,
} from './run-privacy-plan';

/**
 * Accounting over a hospital's privacy ledger (pure; the entries come from the hospital's own store).
 *
 * A run first writes one `reservation`: every mechanism its plan may run, charged in full whether
 * or not it runs. Then every use of the data writes a `use` entry naming its slots
 * (`train:<round>`, `evaluation:<version>`, `stats`) before the data is read. A use the reservation
 * covers costs nothing more; a use it does not cover (a retried round, an extra evaluation) carries
 * the cost of one more use. ε is always recomputed from all entries (STYLE.md habit 3).
 */
export interface ChargedMechanism {
  mechanism: MechanismKind;
  partitions: Partition[];
  slot: SlotKind;
  uses: number;
  /** One use of the mechanism. */
  perUse: DpEvent;
  /** What this entry charges for it (perUse × uses). */
  event: DpEvent;
}

export interface LedgerEntryView {
  runId: string;
  kind: 'reservation' | 'use';
  /** Use entries: the slots this use takes. */
  slots: string[];
  mechanisms: ChargedMechanism[];
}

export interface LedgerTotals {
  partitions: Record<Partition, PartitionTotal>;
  /** The worse partition: the guarantee a patient of this hospital gets. */
  epsilon: number;
  /** Each mechanism kind composed alone over the entries (what it would cost by itself). */
  byMechanism: Array<{ mechanism: MechanismKind; partitions: Partition[]; epsilon: number }>;
}

/** ε per partition of the entries composed (all of them, or only one run's). */
export function ledgerTotals(
  entries: readonly LedgerEntryView[],
  delta: number,
  options: { runId?: string } = {},
): LedgerTotals {
  const selected = options.runId === undefined ? entries : entries.filter((e) => e.runId === options.runId);
  const charges = selected.flatMap((e) => e.mechanisms);
  const partitions = {} as Record<Partition, PartitionTotal>;
  for (const partition of PARTITIONS) {
    partitions[partition] = composeAll(
      charges.filter((c) => c.partitions.includes(partition)).map((c) => c.event),
      delta,
    );
  }
  const kinds = [...new Set(charges.map((c) => c.mechanism))];
  const byMechanism = kinds.map((mechanism) => {
    const mine = charges.filter((c) => c.mechanism === mechanism);
    return {
      mechanism,
      partitions: [...new Set(mine.flatMap((c) => c.partitions))].sort(),
      epsilon: composeAll(
        mine.map((c) => c.event),
        delta,
      ).epsilon,
    };
  });
  return {
    partitions,
    epsilon: Math.max(partitions.train.epsilon, partitions.test.epsilon),
    byMechanism,
  };
}

/** ε at δ of the partition events plus `extra`, per partition: what a new entry would bring it to. */
export function totalsWith(
  entries: readonly LedgerEntryView[],
  extra: readonly ChargedMechanism[],
  delta: number,
): LedgerTotals {
  return ledgerTotals(
    [...entries, { runId: '\u0000extra', kind: 'use', slots: [], mechanisms: [...extra] }],
    delta,
  );
}

function composeAll(events: DpEvent[], delta: number): PartitionTotal {
  if (events.length === 0) return { epsilon: 0, order: null };
  return computeEpsilon(composedEvent(events), delta);
}

/** The run's reservation, if it has one (a run reserves once; the first one counts). */
export function reservationOf(
  entries: readonly LedgerEntryView[],
  runId: string,
): LedgerEntryView | undefined {
  return entries.find((e) => e.runId === runId && e.kind === 'reservation');
}

/**
 * What a new use of `slots` by `runId` costs beyond the run's reservation: the mechanisms of each
 * slot the reservation no longer covers (already used, or more uses than planned), one use each.
 * Throws when the run has no reservation, or a slot has no planned mechanism at all (a use the
 * run never planned cannot be priced, so it must not happen).
 */
export function uncoveredCharges(
  entries: readonly LedgerEntryView[],
  runId: string,
  slots: readonly string[],
): ChargedMechanism[] {
  const reservation = reservationOf(entries, runId);
  if (!reservation) throw new RangeError(`run ${runId} has no reservation in this ledger`);
  const earlierUses = entries.filter((e) => e.runId === runId && e.kind === 'use').flatMap((e) => e.slots);
  const charges: ChargedMechanism[] = [];
  const taken = [...earlierUses];
  for (const slot of slots) {
    const kind = slotKind(slot);
    const planned = reservation.mechanisms.filter((m) => m.slot === kind);
    if (planned.length === 0)
      throw new RangeError(`run ${runId} planned no ${kind} use, so '${slot}' cannot be priced`);
    if (!covered(slot, kind, planned[0].uses, taken))
      for (const m of planned) charges.push({ ...m, uses: 1, event: m.perUse });
    taken.push(slot);
  }
  return charges;
}

function covered(slot: string, kind: SlotKind, plannedUses: number, taken: readonly string[]): boolean {
  if (kind === 'train') {
    const round = Number(slot.slice('train:'.length));
    return Number.isInteger(round) && round >= 1 && round <= plannedUses && !taken.includes(slot);
  }
  if (kind === 'stats') return !taken.includes(slot);
  return taken.filter((s) => slotKind(s) === 'evaluation').length < plannedUses;
}

export function slotKind(slot: string): SlotKind {
  if (slot === 'stats') return 'stats';
  if (/^train:\d+$/.test(slot)) return 'train';
  if (/^evaluation:.+$/.test(slot)) return 'evaluation';
  throw new RangeError(`'${slot}' is not a ledger slot (train:<round>, evaluation:<version> or stats)`);
}
