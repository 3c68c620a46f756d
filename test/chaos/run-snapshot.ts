import { paths, RoundDocumentSchema, RunDocumentSchema, UpdateReceiptSchema } from '../../schemas/documents';
import type { SignedLedgerEntry } from '../../schemas/privacy-ledger';
import type { DocumentStore } from '../../src/ports/document-store';
import type { HospitalLedgerStore } from '../../src/ports/hospital-ledger-store';
import type { ModelRegistry } from '../../src/ports/model-registry';

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
  for (const hospitalId of run.hospitals) {
    const entries: SignedLedgerEntry[] = await stores.ledgers.read(hospitalId).catch(() => []);
    charges[hospitalId] = entries
      .filter((e) => e.entry.runId === runId)
      .map((e) => {
        const { kind, slots, mechanisms } = e.entry;
        return JSON.stringify(anonymous({ kind, slots, mechanisms }));
      });
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
  });
}

export interface Comparison {
  /** What differs from the clean run; empty when the chaos run ended as the clean one did. */
  problems: string[];
  /** Ledger entries charged again (a retried job or evaluation pays again), over all hospitals. */
  chargedRetries: number;
}

/**
 * The chaos run must end exactly as the clean run — same rounds, participants, receipts, model
 * weights, run ledger — with no update counted twice; each hospital's ledger may hold more
 * entries than the clean run's, but only repeats of a clean charge (a retry is charged again,
 * ARCHITECTURE.md §2), and never fewer.
 */
export function compareToClean(clean: RunSnapshot, chaos: RunSnapshot): Comparison {
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
  for (const hospitalId of new Set([...Object.keys(clean.charges), ...Object.keys(chaos.charges)])) {
    const expected = clean.charges[hospitalId] ?? [];
    const actual = [...(chaos.charges[hospitalId] ?? [])];
    for (const charge of expected) {
      const at = actual.indexOf(charge);
      if (at < 0) problems.push(`${hospitalId}'s ledger lacks the clean run's charge ${charge}`);
      else actual.splice(at, 1);
    }
    for (const extra of actual) {
      if (expected.includes(extra)) chargedRetries++;
      else problems.push(`${hospitalId}'s ledger holds a charge the clean run never made: ${extra}`);
    }
  }
  return { problems, chargedRetries };
}
