import { paths, RoundDocumentSchema, RunDocumentSchema, UpdateReceiptSchema } from '../../schemas/documents';
import type { LedgerMechanism, SignedLedgerEntry } from '../../schemas/privacy-ledger';
import type { PrivacyGuarantee } from '../../schemas/privacy';
import { slotKind } from '../../src/core/privacy';
import type { DocumentStore } from '../../src/ports/document-store';
import type { HospitalLedgerStore } from '../../src/ports/hospital-ledger-store';
import type { ModelRegistry } from '../../src/ports/model-registry';
import { hospitalPrivacy } from '../../src/services/patient-privacy';

/**
 * What a run left behind, with its run id written as `<run>` so a chaos run and the clean run
 * compare field by field: the run, its rounds and participants, each round's receipts, the model
 * versions (weights SHA-256) and each hospital's ledger charges for the run.
 */
export interface RunSnapshot {
  status: string;
  ledger: unknown;
  rounds: unknown[];
  receipts: unknown[][];
  versions: unknown[];
  /** Per hospital, its ledger entries for this run without sequence, time, chain and signature. */
  charges: Record<string, string[]>;
  /** Per hospital, the mechanisms its reservation for this run planned (what one more use costs). */
  reserved: Record<string, LedgerMechanism[]>;
  /** Per hospital, the run's patient-level ε its whole ledger states (null = ∞), repeats included. */
  ledgerEpsilon: Record<string, number | null>;
}

/** One charge as the snapshot keeps it: what was paid for, not when or in which order. */
export interface Charge {
  kind: 'reservation' | 'use';
  slots: string[];
  mechanisms: LedgerMechanism[];
}

/**
 * The run document, its rounds, each round's receipts (without times) and its model versions
 * (weights SHA-256; the final version's pooled evaluation left out: it is drawn from fresh DP noise,
 * so it differs between any two runs): what two runs of the same seed must share.
 */
export async function runOutcome(documents: DocumentStore, models: ModelRegistry, runId: string) {
  const run = RunDocumentSchema.parse(await documents.get(paths.run(runId)));
  const rounds = (await documents.list(paths.rounds(runId))).map((s) => RoundDocumentSchema.parse(s.data));
  const receipts: unknown[][] = [];
  for (const round of rounds) {
    const listed = await documents.list(paths.updates(runId, round.round));
    receipts.push(
      listed.map((s) => {
        const r = UpdateReceiptSchema.parse(s.data);
        return {
          hospitalId: r.hospitalId,
          status: r.status,
          reason: r.reason,
          sha256: r.sha256,
          numExamples: r.numExamples,
          norm: r.norm,
          trainLoss: r.trainLoss,
        };
      }),
    );
  }
  const listed = await models.list(runId);
  const versions = listed.map((v) => ({
    round: v.round,
    weightsSha256: v.sha256,
    numParameters: v.numParameters,
    participants: v.participants,
    privacy: v.privacy,
    pooled: v.round < listed.length - 1 ? v.pooled : 'not compared',
  }));
  return { run, rounds, receipts, versions };
}

export async function snapshotRun(
  stores: { documents: DocumentStore; models: ModelRegistry; ledgers: HospitalLedgerStore },
  runId: string,
): Promise<RunSnapshot> {
  const anonymous = <T>(value: T): T => JSON.parse(JSON.stringify(value).split(runId).join('<run>')) as T;
  const { run, rounds, receipts, versions } = await runOutcome(stores.documents, stores.models, runId);
  const charges: Record<string, string[]> = {};
  const reserved: Record<string, LedgerMechanism[]> = {};
  const ledgerEpsilon: Record<string, number | null> = {};
  for (const hospitalId of run.hospitals) {
    const entries: SignedLedgerEntry[] = await stores.ledgers.read(hospitalId).catch(() => []);
    const own = entries.filter((e) => e.entry.runId === runId);
    charges[hospitalId] = own.map((e) => {
      const { kind, slots, mechanisms } = e.entry;
      return JSON.stringify(anonymous({ kind, slots, mechanisms }));
    });
    reserved[hospitalId] = own.find((e) => e.entry.kind === 'reservation')?.entry.mechanisms ?? [];
    if (own.length > 0)
      ledgerEpsilon[hospitalId] = hospitalPrivacy(entries, runId, {
        delta: run.config.delta,
        budgetEpsilon: run.config.patientBudgetEpsilon,
      }).run.epsilon;
  }
  return anonymous({
    status: run.status,
    ledger: run.ledger,
    rounds: rounds.map((r) => ({
      round: r.round,
      status: r.status,
      expectedHospitals: r.expectedHospitals,
      quorum: r.quorum,
      participants: r.participants,
    })),
    receipts,
    versions,
    charges,
    reserved,
    ledgerEpsilon,
  });
}

export interface Comparison {
  /** What differs from the clean run; empty when the chaos run ended as the clean one did. */
  problems: string[];
  /** Ledger entries charged again (a retried job or evaluation pays again), over all hospitals. */
  chargedRetries: number;
}

/** A job killed after it charged its ledger: its retry must pay this charge again. */
export interface ExpectedRepeat {
  hospitalId: string;
  slots: string[];
  /**
   * The job had already stored what it read its data for (its update, its evaluation release)
   * when it died: a retry may re-send that without reading again, so a repeat may or may not come.
   */
  optional?: boolean;
}

/**
 * The chaos run must end exactly as the clean run — same rounds, participants, receipts, model
 * weights, run ledger — with no update counted twice. Each hospital's ledger holds every clean
 * charge, and may hold more entries only when each is a repeat of one of them (a retry is charged
 * again, ARCHITECTURE.md §2): the same kind and slots, priced as one more use of what the run
 * reserved for those slots (or exactly as the clean charge, when that was already a repeat), never
 * anything else. A job the suite killed after it charged must have had that charge repeated
 * (`expected`), and the final model's patient-level guarantee must cover every hospital's run total
 * as its ledger states it, repeats included.
 */
export function compareToClean(
  clean: RunSnapshot,
  chaos: RunSnapshot,
  expected: readonly ExpectedRepeat[] = [],
): Comparison {
  const problems: string[] = [];
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b))
      problems.push(`${what} differs: clean ${JSON.stringify(a)} vs chaos ${JSON.stringify(b)}`);
  };
  same('run status', clean.status, chaos.status);
  same('run ledger', clean.ledger, chaos.ledger);
  same('rounds', clean.rounds, chaos.rounds);
  same('receipts', clean.receipts, chaos.receipts);
  same('model versions', clean.versions, chaos.versions);
  for (const [round, receipts] of chaos.receipts.entries()) {
    const hospitals = receipts.map((r) => (r as { hospitalId: string }).hospitalId);
    if (new Set(hospitals).size !== hospitals.length)
      problems.push(`round ${round + 1} holds two receipts of one hospital: ${hospitals.join(', ')}`);
  }
  for (const version of chaos.versions) {
    const participants = (version as { participants: string[] }).participants;
    if (new Set(participants).size !== participants.length)
      problems.push(`a model version counts a hospital twice: ${participants.join(', ')}`);
  }
  let chargedRetries = 0;
  const repeats: ExpectedRepeat[] = [];
  for (const hospitalId of new Set([...Object.keys(clean.charges), ...Object.keys(chaos.charges)])) {
    const expectedCharges = clean.charges[hospitalId] ?? [];
    const actual = [...(chaos.charges[hospitalId] ?? [])];
    for (const charge of expectedCharges) {
      const at = actual.indexOf(charge);
      if (at < 0) problems.push(`${hospitalId}'s ledger lacks the clean run's charge ${charge}`);
      else actual.splice(at, 1);
    }
    for (const extra of actual) {
      const repeat = JSON.parse(extra) as Charge;
      const of = expectedCharges
        .map((c) => JSON.parse(c) as Charge)
        .find((c) => isRepeatOf(repeat, c, chaos.reserved[hospitalId] ?? []));
      if (of) {
        chargedRetries++;
        repeats.push({ hospitalId, slots: repeat.slots });
      } else problems.push(`${hospitalId}'s ledger holds a charge that repeats no clean charge: ${extra}`);
    }
  }
  for (const kill of expected) {
    const at = repeats.findIndex(
      (r) => r.hospitalId === kill.hospitalId && JSON.stringify(r.slots) === JSON.stringify(kill.slots),
    );
    if (at < 0 && !kill.optional)
      problems.push(
        `${kill.hospitalId}'s job was killed after charging ${kill.slots.join(', ')}, but its ledger holds no repeat of that charge`,
      );
    else if (at >= 0) repeats.splice(at, 1);
  }
  problems.push(...uncoveredByGuarantee(chaos));
  return { problems, chargedRetries };
}

/**
 * A repeat pays for the same slots again: a use of the same slots, whose mechanisms are one use
 * each of what the reservation planned for those slots' kinds (the retry is not covered by the
 * plan), or exactly the clean charge's mechanisms (when the clean charge was itself uncovered).
 */
export function isRepeatOf(repeat: Charge, charge: Charge, reserved: readonly LedgerMechanism[]): boolean {
  if (repeat.kind !== 'use' || charge.kind !== 'use') return false;
  if (JSON.stringify(repeat.slots) !== JSON.stringify(charge.slots)) return false;
  if (JSON.stringify(repeat.mechanisms) === JSON.stringify(charge.mechanisms)) return true;
  const oneMoreUse = repeat.slots.flatMap((slot) =>
    reserved
      .filter((m) => m.slot === slotKind(slot))
      .map((m) => JSON.stringify({ ...m, uses: 1, event: m.perUse })),
  );
  const priced = repeat.mechanisms.map((m) => JSON.stringify(m));
  return (
    priced.length > 0 &&
    priced.every((m) => {
      const at = oneMoreUse.indexOf(m);
      if (at >= 0) oneMoreUse.splice(at, 1);
      return at >= 0;
    })
  );
}

/** The final model's patient-level ε (null = ∞) must be at least each hospital's run total. */
function uncoveredByGuarantee(chaos: RunSnapshot): string[] {
  const last = chaos.versions.at(-1) as { privacy?: PrivacyGuarantee[] } | undefined;
  const patient = last?.privacy?.find((g) => g.unit === 'patient');
  if (!patient)
    return Object.keys(chaos.ledgerEpsilon).length > 0
      ? ['the final model states no patient-level guarantee']
      : [];
  return Object.entries(chaos.ledgerEpsilon)
    .filter(
      ([, epsilon]) =>
        patient.epsilon !== null && (epsilon === null || epsilon > patient.epsilon! * (1 + 1e-9)),
    )
    .map(
      ([hospitalId, epsilon]) =>
        `the final model states patient ε = ${patient.epsilon}, less than ${hospitalId}'s run total ${epsilon ?? '∞'} in its ledger`,
    );
}
